"""Fakes of the outside systems FoundryCord talks to (other than Discord, which is the
sandbox), speaking their real wire protocols so the real clients are tested against them."""
