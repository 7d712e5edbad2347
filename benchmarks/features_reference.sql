-- An independent plain-DuckDB implementation of 24 of Vigie's signals, the yardstick of
-- benchmarks/features_dates.py: same snapshots (pupils enrolled on each date of `dates`), same
-- windows (4 and 12 weeks, the school year, the year before), rows dated <= D only. Counts
-- instead of rates (no calendar), and no ranks or runs: a lower bound on the work.
-- Tables: enrolments, attendance, grades, incidents (validated Parquet), dates(as_of DATE).
WITH snap AS (
    SELECT e.pupil_id, d.as_of, e.school_id, make_date(e.school_year, 9, 1) AS year_start
    FROM enrolments e
    JOIN dates d ON e.school_year = year(d.as_of) - CASE WHEN month(d.as_of) < 9 THEN 1 ELSE 0 END
    WHERE e.entry_date <= d.as_of AND (e.exit_date IS NULL OR d.as_of < e.exit_date)
),
att AS (
    SELECT s.pupil_id, s.as_of,
        count(*) FILTER (a.kind = 'absence' AND NOT a.justified AND a.date > s.as_of - 28) AS u_4w,
        count(*) FILTER (a.kind = 'absence' AND NOT a.justified AND a.date > s.as_of - 84) AS u_12w,
        count(*) FILTER (a.kind = 'absence' AND NOT a.justified AND a.date >= s.year_start) AS u_year,
        count(*) FILTER (a.kind = 'absence' AND a.justified AND a.date > s.as_of - 28) AS j_4w,
        count(*) FILTER (a.kind = 'absence' AND a.justified AND a.date > s.as_of - 84) AS j_12w,
        count(*) FILTER (a.kind = 'absence' AND a.justified AND a.date >= s.year_start) AS j_year,
        count(*) FILTER (a.kind = 'late' AND a.date > s.as_of - 28) AS l_4w,
        count(*) FILTER (a.kind = 'late' AND a.date > s.as_of - 84) AS l_12w,
        count(*) FILTER (a.kind = 'late' AND a.date >= s.year_start) AS l_year,
        count(*) FILTER (a.kind = 'exclusion' AND a.date >= s.year_start) AS x_year,
        count(*) FILTER (a.kind = 'absence' AND NOT a.justified AND a.date < s.year_start) AS u_previous_year,
        max(a.date) FILTER (a.kind = 'absence' AND NOT a.justified) AS last_unjustified
    FROM snap s
    JOIN attendance a ON a.pupil_id = s.pupil_id AND a.date <= s.as_of AND a.date >= s.year_start - INTERVAL 1 YEAR
    GROUP BY s.pupil_id, s.as_of
),
grd AS (
    SELECT s.pupil_id, s.as_of,
        sum(g.score / g.max_score * 20 * g.coefficient) FILTER (g.date >= s.year_start)
            / sum(g.coefficient) FILTER (g.date >= s.year_start) AS grade_mean_year,
        sum(g.score / g.max_score * 20 * g.coefficient) FILTER (g.date > s.as_of - 42)
            / sum(g.coefficient) FILTER (g.date > s.as_of - 42) AS grade_mean_6w,
        sum(g.score / g.max_score * 20 * g.coefficient) FILTER (g.date < s.year_start)
            / sum(g.coefficient) FILTER (g.date < s.year_start) AS grade_mean_previous_year,
        sum(g.score / g.max_score * 20 * g.coefficient) FILTER (g.date >= s.year_start AND g.subject = 'MATHS')
            / sum(g.coefficient) FILTER (g.date >= s.year_start AND g.subject = 'MATHS') AS grade_mean_maths_year,
        sum(g.score / g.max_score * 20 * g.coefficient) FILTER (g.date >= s.year_start AND g.subject = 'FRANCAIS')
            / sum(g.coefficient) FILTER (g.date >= s.year_start AND g.subject = 'FRANCAIS') AS grade_mean_french_year,
        count(*) FILTER (g.date > s.as_of - 42) AS grades_count_6w,
        count(DISTINCT g.subject) FILTER (g.date >= s.year_start) AS subjects_graded_year
    FROM snap s
    JOIN grades g ON g.pupil_id = s.pupil_id AND g.date <= s.as_of AND g.date >= s.year_start - INTERVAL 1 YEAR
    GROUP BY s.pupil_id, s.as_of
),
inc AS (
    SELECT s.pupil_id, s.as_of,
        count(*) FILTER (i.date > s.as_of - 84) AS incidents_12w,
        count(*) FILTER (i.date >= s.year_start) AS incidents_year,
        count(*) FILTER (i.date >= s.year_start AND i.kind IN ('exclusion_temporaire', 'conseil_discipline'))
            AS serious_incidents_year,
        max(i.date) AS last_incident
    FROM snap s
    JOIN incidents i ON i.pupil_id = s.pupil_id AND i.date <= s.as_of AND i.date >= s.year_start - INTERVAL 1 YEAR
    GROUP BY s.pupil_id, s.as_of
)
SELECT snap.pupil_id, snap.as_of, snap.school_id,
    coalesce(u_4w, 0) AS u_4w, coalesce(u_12w, 0) AS u_12w, coalesce(u_year, 0) AS u_year,
    coalesce(j_4w, 0) AS j_4w, coalesce(j_12w, 0) AS j_12w, coalesce(j_year, 0) AS j_year,
    coalesce(l_4w, 0) AS l_4w, coalesce(l_12w, 0) AS l_12w, coalesce(l_year, 0) AS l_year,
    coalesce(x_year, 0) AS x_year, coalesce(u_previous_year, 0) AS u_previous_year,
    snap.as_of - last_unjustified AS days_since_last_unjustified,
    grade_mean_year, grade_mean_6w, grade_mean_previous_year, grade_mean_maths_year, grade_mean_french_year,
    coalesce(grades_count_6w, 0) AS grades_count_6w, coalesce(subjects_graded_year, 0) AS subjects_graded_year,
    coalesce(incidents_12w, 0) AS incidents_12w, coalesce(incidents_year, 0) AS incidents_year,
    coalesce(serious_incidents_year, 0) AS serious_incidents_year,
    snap.as_of - last_incident AS days_since_last_incident
FROM snap
LEFT JOIN att USING (pupil_id, as_of)
LEFT JOIN grd USING (pupil_id, as_of)
LEFT JOIN inc USING (pupil_id, as_of)
