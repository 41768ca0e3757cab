"""Local fakes of external chat platform APIs for tests."""
