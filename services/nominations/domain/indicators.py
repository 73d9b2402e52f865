"""Socio-economic indicators of the village as of 1 January of the edition year (§9 item 5)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from .values import Count, Frozen, Tenge, Text


class Migration(Frozen):
    """Migration level: people who moved in and out during the previous year."""

    arrived: Count = Field(description="people who moved into the rural district")
    departed: Count = Field(description="people who moved out of the rural district")

    @property
    def net(self) -> int:
        return self.arrived - self.departed


class ExtraIndicator(Frozen):
    """Any further indicator the nominator reports (§9 item 5: "… и т.д.")."""

    name: Text = Field(description="what is measured")
    value: float = Field(description="its value")
    unit: str = Field("", description="its unit")


class SocioEconomicIndicators(Frozen):
    """§9 item 5: investment, jobs, agricultural output, migration and crime, "as of 1 January"."""

    as_of: date = Field(description="the date the figures refer to: 1 January of the edition year")
    investment_tenge: Tenge = Field(description="investment attracted, tenge")
    jobs_created: Count = Field(description="jobs created")
    agricultural_output_tenge: Tenge = Field(description="agricultural output, tenge")
    migration: Migration = Field(description="migration level")
    registered_offences: Count = Field(description="crime level: offences registered")
    extra: tuple[ExtraIndicator, ...] = Field((), description="further indicators")
