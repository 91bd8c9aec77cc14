-- Live KPIs per development zone from the parcels inside it. Proxies (documented in
-- landmatch/monitoring/zones.py): built-up = started supplied land weighted by developed_ratio;
-- industrial FAR = area-weighted planned minimum FAR of supplied industrial parcels;
-- tax per hectare = committed 亩均税收 (tax_per_mu_min) of 标准地 parcels × 15.
SELECT z.id, z.code, z.name, z.city_code, z.level, z.kind, z.area_m2 AS zone_area_m2,
       count(p.id) AS parcels,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.approval_date IS NOT NULL AND p.status <> 'withdrawn'), 0) AS approved_m2,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.status IN ('supplied', 'idle')), 0) AS supplied_m2,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.status = 'ready'), 0) AS ready_m2,
       COALESCE(sum(p.area_m2) FILTER (WHERE p.status = 'idle'), 0) AS idle_m2,
       sum(p.area_m2 * COALESCE(p.developed_ratio, 0)) FILTER (
         WHERE p.status IN ('supplied', 'idle') AND p.actual_start_date <= CAST(:as_of AS date)) AS built_m2,
       sum(p.area_m2 * p.far_min) FILTER (
         WHERE p.status IN ('supplied', 'idle') AND p.land_use LIKE '1001%' AND p.far_min IS NOT NULL) AS far_x_area,
       sum(p.area_m2) FILTER (
         WHERE p.status IN ('supplied', 'idle') AND p.land_use LIKE '1001%' AND p.far_min IS NOT NULL) AS far_area,
       sum(p.invested_wan) FILTER (WHERE p.status IN ('supplied', 'idle') AND p.invested_wan IS NOT NULL) AS invested_wan,
       sum(p.area_m2) FILTER (WHERE p.status IN ('supplied', 'idle') AND p.invested_wan IS NOT NULL) AS invest_area_m2,
       sum(p.tax_per_mu_min * p.area_m2 / (10000.0 / 15)) FILTER (WHERE p.tax_per_mu_min IS NOT NULL) AS tax_wan,
       sum(p.area_m2) FILTER (WHERE p.tax_per_mu_min IS NOT NULL) AS tax_area_m2
  FROM landmatch.dev_zone z
  LEFT JOIN landmatch.parcel p ON p.zone_id = z.id AND p.deleted_at IS NULL
 WHERE (CAST(:city AS text) IS NULL OR z.city_code = CAST(:city AS text))
 GROUP BY z.id
 ORDER BY z.code
