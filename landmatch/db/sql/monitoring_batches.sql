-- Approved minus supplied geometry per approval batch (domain-rules §2.1): the supplied part is
-- the union of supplied parcels intersecting the batch, clipped to it; areas on the ellipsoid.
-- Supplied means supplied by :as_of and not withdrawn (landmatch.supplied_by, as the age bands
-- and supply rates read it).
WITH sup AS (
  SELECT b.id, ST_Union(p.geom) AS g
    FROM landmatch.approval_batch b
    JOIN landmatch.parcel p ON p.geom && b.geom AND ST_Intersects(p.geom, b.geom)
   WHERE p.deleted_at IS NULL AND p.status <> 'withdrawn'
     AND landmatch.supplied_by(p.status, p.supply_date, CAST(:as_of AS date))
   GROUP BY b.id
), m AS (
  SELECT b.id, b.code, b.name, b.doc_no, b.approval_date, b.city_code, b.county_code,
         b.area_m2 AS approved_m2,
         COALESCE(ST_Area(ST_Intersection(b.geom, s.g)::geography, true), 0) AS supplied_m2,
         ST_Area(COALESCE(ST_Difference(b.geom, s.g), b.geom)::geography, true) AS unsupplied_m2,
         (SELECT count(*) FROM landmatch.parcel q
           WHERE q.deleted_at IS NULL AND q.geom && b.geom AND ST_Within(q.geom, b.geom)) AS parcels
    FROM landmatch.approval_batch b LEFT JOIN sup s ON s.id = b.id
   WHERE b.approval_date <= CAST(:as_of AS date)
     AND (CAST(:city AS text) IS NULL OR b.city_code = CAST(:city AS text))
)
SELECT m.*,
       CASE WHEN m.approval_date > CAST(CAST(:as_of AS date) - interval '2 years' AS date) THEN 'lt2'
            WHEN m.approval_date >= CAST(CAST(:as_of AS date) - interval '5 years' AS date) THEN '2to5'
            ELSE 'gt5' END AS band
  FROM m ORDER BY m.city_code, m.code
