"""Central's domain errors.  The API turns each into its HTTP status in one handler
(:func:`cloud.central.app.domain_error`); the command line prints its text on one line.
"""

from __future__ import annotations


class DomainError(Exception):
    """Something Central refuses to do, with a reason fit to show."""

    status = 400

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class UnknownCp(DomainError, KeyError):
    """No charging point with that id is registered."""

    status = 404

    def __init__(self, cp_id: object) -> None:
        super().__init__(f"unknown charging point {str(cp_id)[:70]!r}")
        self.cp_id = cp_id


class UnknownDriver(DomainError, KeyError):
    """No driver with that id is registered."""

    status = 404

    def __init__(self, driver_id: object) -> None:
        super().__init__(f"unknown driver {str(driver_id)[:70]!r}")
        self.driver_id = driver_id


class CpIdTaken(DomainError, ValueError):
    status = 409

    def __init__(self, cp_id: str) -> None:
        super().__init__(f"CP {cp_id} already exists")


class DriverIdTaken(DomainError, ValueError):
    status = 409

    def __init__(self, driver_id: str) -> None:
        super().__init__(f"driver {driver_id} already exists")


class BadPrice(DomainError, ValueError):
    """A price that is not a finite, non-negative decimal number of EUR/kWh."""


class BadRegistration(DomainError, ValueError):
    """A malformed CP id, driver id or location."""
