-- Live KPIs per development zone from the parcels inside it. Proxies (documented in
-- landmatch/monitoring/zones.py): built-up = started supplied land weighted by developed_ratio;
-- industrial FAR = area-weighted planned minimum FAR of supplied industrial parcels;
-- tax per hectare = committed 亩均税收 (tax_per_mu_min) of 标准地 parcels × 15.
-- On :as_of, by the dates, not today's status: approved means approved by that day, supplied
-- means supplied by it (landmatch.supplied_by, as the supply rates, the 批而未供 age bands and
-- the batches read it); withdrawn land leaves both. ready_m2 and idle_m2 are today's status (no
-- date records when land became ready or idle).
SELECT z.id, z.code, z.name, z.city_code, z.level, z.kind, z.area_m2 AS zone_area_m2,
       count(p.id) AS parcels,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.approved), 0) AS approved_m2,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.supplied), 0) AS supplied_m2,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.status = 'ready'), 0) AS ready_m2,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.status = 'idle'), 0) AS idle_m2,
       sum(p.area_m2 * COALESCE(p.developed_ratio, 0)) FILTER (
         WHERE p.supplied AND p.actual_start_date <= CAST(:as_of AS date)) AS built_m2,
       sum(p.area_m2 * p.far_min) FILTER (
         WHERE p.supplied AND p.land_use LIKE '1001%' AND p.far_min IS NOT NULL) AS far_x_area,
       sum(p.area_m2) FILTER (
         WHERE p.supplied AND p.land_use LIKE '1001%' AND p.far_min IS NOT NULL) AS far_area,
       sum(p.invested_wan) FILTER (WHERE p.supplied AND p.invested_wan IS NOT NULL) AS invested_wan,
       sum(p.area_m2) FILTER (WHERE p.supplied AND p.invested_wan IS NOT NULL) AS invest_area_m2,
       sum(p.tax_per_mu_min * p.area_m2 / (10000.0 / 15)) FILTER (WHERE p.tax_per_mu_min IS NOT NULL) AS tax_wan,
       sum(p.area_m2) FILTER (WHERE p.tax_per_mu_min IS NOT NULL) AS tax_area_m2
  FROM landmatch.dev_zone z
  LEFT JOIN (
    SELECT p.id, p.zone_id, p.status, p.area_m2, p.developed_ratio, p.actual_start_date,
           p.land_use, p.far_min, p.invested_wan, p.tax_per_mu_min,
           p.status <> 'withdrawn' AND p.approval_date <= CAST(:as_of AS date) AS approved,
           p.status <> 'withdrawn'
             AND landmatch.supplied_by(p.status, p.supply_date, CAST(:as_of AS date)) AS supplied
      FROM landmatch.parcel p
     WHERE p.deleted_at IS NULL
  ) p ON p.zone_id = z.id
 WHERE (CAST(:city AS text) IS NULL OR z.city_code = CAST(:city AS text))
 GROUP BY z.id
 ORDER BY z.code
