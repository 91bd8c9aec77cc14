-- 供地率 per city and per county: supplied ÷ approved area of one approval cohort
-- (approval years :y0..:y1). Withdrawn approvals leave both numerator and denominator; supplied
-- means supplied by :as_of (landmatch.supplied_by, as the age bands and batches read it).
SELECT p.city_code, p.county_code, GROUPING(p.county_code) = 1 AS city_total,
       sum(p.area_m2) AS approved_m2,
       sum(p.area_m2) FILTER (WHERE landmatch.supplied_by(p.status, p.supply_date, CAST(:as_of AS date)))
         AS supplied_m2,
       count(*) AS parcels
  FROM landmatch.parcel p
 WHERE p.deleted_at IS NULL AND p.status <> 'withdrawn' AND p.approval_date IS NOT NULL
   AND extract(year FROM p.approval_date) BETWEEN :y0 AND :y1
   AND (CAST(:city AS text) IS NULL OR p.city_code = CAST(:city AS text))
 GROUP BY GROUPING SETS ((p.city_code), (p.city_code, p.county_code))
 ORDER BY 1, 3 DESC, 2
