-- 批而未供 stock by age since approval (bands < 2 y, 2–5 y, > 5 y) per city, county and status.
-- Stock = approved (approval_date on or before :as_of), not supplied by :as_of
-- (landmatch.supplied_by, as the supply rates and batches read it), not withdrawn: decided by
-- the dates, so land supplied after :as_of is in that day's stock whatever its status now
-- (the status column is today's).
SELECT p.city_code, p.county_code, p.status,
       CASE WHEN p.approval_date > CAST(CAST(:as_of AS date) - interval '2 years' AS date) THEN 'lt2'
            WHEN p.approval_date >= CAST(CAST(:as_of AS date) - interval '5 years' AS date) THEN '2to5'
            ELSE 'gt5' END AS band,
       count(*) AS parcels, sum(p.area_m2) AS area_m2
  FROM landmatch.parcel p
 WHERE p.deleted_at IS NULL AND p.approval_date IS NOT NULL
   AND p.approval_date <= CAST(:as_of AS date)
   AND p.status <> 'withdrawn'
   AND NOT landmatch.supplied_by(p.status, p.supply_date, CAST(:as_of AS date))
   AND (CAST(:city AS text) IS NULL OR p.city_code = CAST(:city AS text))
 GROUP BY 1, 2, 3, 4
 ORDER BY 1, 2, 3, 4
