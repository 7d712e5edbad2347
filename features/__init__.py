"""Per-pupil signals from pseudonymised attendance and grade data.

Stages, each a subpackage with its public names in ``__all__``:

- :mod:`features.ingest`: the data contract, reading exports, validation rules and
  quarantine, pseudonymisation, the school calendar;
- :mod:`features.signals`: the snapshot population, labels and signals as Ibis expressions
  run on DuckDB or Spark, and the feature table with its metadata;
- :mod:`features.synthetic`: a synthetic district written in the contract's form.

Shared knowledge sits at the top: :mod:`features.catalog` (every feature, its meaning and its
wording as a reason), :mod:`features.metadata` (the typed metadata of a feature table),
:mod:`features.configfile` (YAML configs) and :mod:`features.french` (French number formats).
Subpackages import each other only through these public names.
"""
