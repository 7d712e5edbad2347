"""Helpers the tests share: real servers started for the tests, never mocks."""
