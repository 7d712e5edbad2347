"""The synthetic district: a raw extract in the contract's form, realistic enough to learn from.

Model
-----
*Schools* are collèges, lycées généraux et technologiques (GT) and lycées professionnels (LP),
about 520, 950 and 450 pupils each. Collèges get a social index; the most deprived 8% are REP+
and the next 14% REP (at least one of each). Each school also has a *recording strictness* for unjustified absences.
``recording_bias`` multiplies it for one group (pupils of REP+ collèges, or scholarship
holders), from a given year: a bias in the records that does not change who drops out, for
the fairness audit to find.

*Pupils* enter 6E in cohorts of equal size: six cohorts entered before the first simulated
year (so every grade level is populated from the start) and one enters each year after. Each
pupil has a social position (which sets the scholarship échelon: 0-3 in collège, 0-6 in
lycée), a latent *risk* (higher when deprived, for boys, and when already late at entry) and
an *ability* (school results) partly opposed to risk. 7% enter 6E a year late (retard).

Each school year every enrolled pupil may *repeat* (more likely with low ability), change
school over the summer (4%) or mid-year (1.5%, two enrolment rows), arrive mid-year (2% of
new pupils), and is *oriented* after 3E by ability: about 62% to 2NDE GT, 28% to bac pro
(2PRO) and 10% to CAP. Terminale, TPRO and CAP2 graduate unless they repeat.

*Dropout* (décrochage) is drawn each year with log-odds rising with risk, low ability,
vocational track, age 16 and 17+, past repeats and school deprivation; it is essentially nil
before 16. 65% of dropouts leave during the year (the enrolment ends on the event date), 35%
do not come back after the summer (event in September-October). About 2% of the pupils
enrolled on a given day drop out within the next 12 months.

*Disengagement* is monthly: the pupil's risk, plus episodes that fade (6% of pupil-years,
more for high-risk pupils: the false alarms any early-warning system meets), plus for future
dropouts a ramp starting 3 to 10 months before the event. It raises unjustified absences
(mean run 1.8 half-days) at once, lateness and exclusions, then grades a month later
(assessments only, ``grades_per_subject`` a subject a year — 25 by default, 175 to 200 a
pupil and year, a realistic volume — 15% marked out of 10, coefficients 0.5/1/2,
8% with the optional coefficient left blank) and incidents of rising severity. Justified
absences (illness, mean run 3 half-days) barely depend on it. School half-days follow a
calendar of national holidays, written as the ``calendar`` table.

Missing data: 1% of pupil-subject-years have no grade; ``allophone`` is blank for 5% of
enrolments; mid-year arrivals and leavers have partial records. ``inject_errors`` appends
rule-breaking rows (score above the maximum, future dates, unknown pupils, duplicates,
dates outside any enrolment, unknown grade levels) to exercise validation and quarantine.

An ``extract_date`` writes what an extract taken that day holds (nothing later; exits and
dropouts after it unknown). A *national* extract is written one département at a time
(:mod:`features.synthetic.partitioned`): one partition per département, each a district of
its own with UAIs starting with the département's code.
"""

from features.synthetic.generator import SynthConfig, SynthSummary, synthesise
from features.synthetic.partitioned import DEPARTEMENTS, PartitionedSummary, synthesise_partitioned

__all__ = ["DEPARTEMENTS", "PartitionedSummary", "SynthConfig", "SynthSummary", "synthesise", "synthesise_partitioned"]
