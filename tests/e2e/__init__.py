# A package, so this tier's conftest is imported as e2e.conftest and does not
# shadow tests/golden/conftest.py when both tiers run in one pytest call.
