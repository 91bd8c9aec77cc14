-- Idle-land stages of the whole inventory (Order 53), the SQL twin of landmatch.monitoring.idle.
-- One row per supplied or idle parcel, unordered: landmatch.monitoring.scan wraps it to list
-- (ORDER BY city_code, code) or to count set-wise (GROUP BY city_code, stage), and appends
-- ORDER BY s.city_code, s.code to stream it (so the final SELECT stays FROM s).
-- Parameters: as_of (date), city (text, NULL = all), and the default of each threshold
-- (d_idle, d_recover, d_window, d_stall, d_dev, d_inv, d_fallback, d_fee, d_stalled) used where
-- neither the city nor the province (130000) has a monitoring_rule row.
-- Stage lines are calendar anniversaries of the clock's start (满一年 / 满两年), computed as
-- CAST(start + make_interval(months => n) AS date): the day is clamped to the end of the
-- target month (29 February + 1 year = 28 February), exactly landmatch.dates.add_months.
-- Each line is one month count added to the clock's start: the idle line idle_months after it
-- (idle_after for land not started, 0 for an extended deadline, stall_min for stalled land),
-- the recovery line
-- recover_after - idle_after months after the idle line, the at-risk line risk_window months
-- before it.
-- The invested ratio is landmatch.invested_ratio (the stored ratio, else invested ÷ total),
-- landmatch.monitoring.idle.invested_ratio's twin. Ratios meet their thresholds at the stored
-- precision, 4 decimals rounded half up (landmatch.monitoring.idle.ratio_below): a stored
-- 0.3333 is not below 1/3, whether that is the default (:d_dev) or a rule row's 0.3333.
WITH base AS (
  SELECT p.id, p.code, p.name, p.city_code, p.county_code, p.zone_id, p.status, p.area_m2,
         p.holder, p.land_price_wan, p.contract_date, p.agreed_start_date, p.start_extended,
         p.actual_start_date,
         p.stopped_since, p.developed_ratio, p.invest_ratio, p.invested_wan,
         p.total_investment_wan, p.gov_caused, p.gov_cause,
         landmatch.invested_ratio(p.invest_ratio, p.invested_wan, p.total_investment_wan) AS inv,
         COALESCE(c.idle_after_months, pr.idle_after_months, CAST(:d_idle AS integer)) AS idle_after,
         COALESCE(c.recover_after_months, pr.recover_after_months, CAST(:d_recover AS integer)) AS recover_after,
         COALESCE(c.at_risk_window_months, pr.at_risk_window_months, CAST(:d_window AS integer)) AS risk_window,
         COALESCE(c.stall_min_months, pr.stall_min_months, CAST(:d_stall AS integer)) AS stall_min,
         COALESCE(c.developed_ratio_min, pr.developed_ratio_min, CAST(:d_dev AS numeric)) AS dev_min,
         COALESCE(c.invest_ratio_min, pr.invest_ratio_min, CAST(:d_inv AS numeric)) AS inv_min,
         COALESCE(c.start_fallback_months, pr.start_fallback_months, CAST(:d_fallback AS integer)) AS fallback_months,
         COALESCE(c.fee_rate, pr.fee_rate, CAST(:d_fee AS numeric)) AS fee_rate,
         COALESCE(c.stalled_clause, pr.stalled_clause, CAST(:d_stalled AS boolean)) AS stalled_clause
    FROM landmatch.parcel p
    LEFT JOIN landmatch.monitoring_rule c ON c.city_code = p.city_code
    LEFT JOIN landmatch.monitoring_rule pr ON pr.city_code = '130000'
   WHERE p.deleted_at IS NULL AND p.status IN ('supplied', 'idle')
     AND (CAST(:city AS text) IS NULL OR p.city_code = CAST(:city AS text))
), d AS (
  SELECT b.*,
         COALESCE(b.agreed_start_date,
                  CAST(b.contract_date + make_interval(months => b.fallback_months) AS date)) AS start_due,
         (b.agreed_start_date IS NULL AND b.contract_date IS NOT NULL) AS fallback,
         (b.start_extended AND b.agreed_start_date IS NOT NULL) AS extended,
         (b.actual_start_date IS NOT NULL AND b.actual_start_date <= CAST(:as_of AS date)) AS started,
         (b.developed_ratio IS NULL AND b.inv IS NULL) AS ratios_missing,
         (COALESCE(round(b.developed_ratio, 4) < round(b.dev_min, 4), false)
          OR COALESCE(round(b.inv, 4) < round(b.inv_min, 4), false)
          OR (b.developed_ratio IS NULL AND b.inv IS NULL)) AS short,
         (b.stopped_since IS NOT NULL AND b.stopped_since <= CAST(:as_of AS date)) AS stopped
    FROM base b
), c AS (
  SELECT d.*,
         CASE WHEN NOT d.started THEN 'not_started'
              WHEN d.stalled_clause AND d.short AND d.stopped THEN 'stalled' END AS clause,
         CASE WHEN NOT d.started THEN d.start_due
              WHEN d.stalled_clause AND d.short AND d.stopped THEN d.stopped_since END AS clock,
         CASE WHEN NOT d.started AND d.extended THEN 0
              WHEN NOT d.started THEN d.idle_after
              ELSE d.stall_min END AS idle_months
    FROM d
), l AS (
  SELECT c.*,
         CAST(:as_of AS date) - c.clock AS days,
         CAST(c.clock + make_interval(months => c.idle_months) AS date) AS idle_on,
         CAST(c.clock + make_interval(months => c.idle_months + c.recover_after - c.idle_after)
              AS date) AS recover_on,
         CAST(c.clock + make_interval(months => c.idle_months - c.risk_window) AS date) AS risk_on
    FROM c
), s AS (
  SELECT l.*,
         CASE WHEN l.clause IS NULL THEN 'normal'
              WHEN l.clock IS NULL THEN 'unknown'
              WHEN CAST(:as_of AS date) >= l.recover_on THEN 'recoverable'
              WHEN CAST(:as_of AS date) >= l.idle_on THEN 'idle_fee'
              WHEN CAST(:as_of AS date) >= l.risk_on THEN 'at_risk'
              ELSE 'normal' END AS underlying
    FROM l
)
SELECT s.id, s.code, s.name, s.city_code, s.county_code, s.zone_id, s.status, s.area_m2,
       s.holder, s.land_price_wan, s.contract_date, s.agreed_start_date, s.start_extended,
       s.actual_start_date,
       s.stopped_since, s.developed_ratio, s.invest_ratio, s.invested_wan,
       s.total_investment_wan, s.gov_caused, s.gov_cause,
       s.start_due, s.clause, s.days,
       CASE WHEN s.idle_on IS NOT NULL THEN GREATEST(s.idle_on - CAST(:as_of AS date), 0) END
         AS days_to_idle,
       s.underlying,
       CASE WHEN s.gov_caused AND s.underlying IN ('idle_fee', 'recoverable') THEN 'gov_caused'
            ELSE s.underlying END AS stage,
       CASE WHEN NOT s.gov_caused AND s.underlying IN ('idle_fee', 'recoverable')
            THEN round(s.fee_rate * s.land_price_wan, 2) END AS fee_wan,
       array_remove(ARRAY[
         CASE WHEN s.fallback THEN 'start_date_fallback' END,
         CASE WHEN s.clause = 'not_started' AND s.start_due IS NULL THEN 'no_start_basis' END,
         CASE WHEN s.clause = 'not_started' AND s.extended THEN 'start_extended' END,
         CASE WHEN s.started AND s.ratios_missing THEN 'ratios_missing' END,
         CASE WHEN s.clause = 'stalled' THEN 'discretionary' END,
         CASE WHEN s.gov_caused AND s.days IS NOT NULL THEN 'gov_caused' END,
         CASE WHEN NOT s.gov_caused AND s.underlying IN ('idle_fee', 'recoverable')
                   AND s.land_price_wan IS NULL THEN 'price_missing' END
       ], NULL) AS flags
  FROM s
