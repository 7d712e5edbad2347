"""models"""

#: The registered model's name, unless a config or a flag names another.
DEFAULT_MODEL_NAME = "vigie-dropout"
