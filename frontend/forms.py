"""Forms of the dashboard: they parse input; the coldchain services decide."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from coldchain.alerts import NOTE_MAX_CHARS
from coldchain.models import ReleaseSignature


class ReleaseForm(forms.Form):
    """The receiver's release decision; signing re-enters the password (§11.200)."""

    decision = forms.ChoiceField(
        choices=ReleaseSignature.Decision.choices, widget=forms.RadioSelect
    )
    released_percent = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("99.99"),
        decimal_places=2,
        label="Released share (%)",
        help_text="Only for a partial release.",
    )
    reason = forms.CharField(
        required=False,
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required for a partial release or a rejection.",
    )
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        strip=False,
        label="Your password",
        help_text="Re-enter it to sign: each signing is authenticated on its own.",
    )

    def fraction(self) -> Decimal | None:
        percent = self.cleaned_data.get("released_percent")
        return None if percent is None else percent / 100
