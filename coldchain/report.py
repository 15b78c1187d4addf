"""The shipment report at delivery, as a PDF (reportlab).

Rendered in reportlab's invariant mode: the same data gives byte-identical
PDFs, so a report handed to a receiver or an insurer can be reproduced and
compared later. Nothing in it depends on the time it is rendered; it names the
checkpoint its evidence is proven against instead.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from html import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
    XPreformatted,
)

from coldchain.models import Shipment
from coldchain.report_chart import PALETTE, VALIDATED_COLOR, line_from_series, temperature_chart
from coldchain.report_data import (
    AlertRow,
    CheckpointInfo,
    ContractActionRow,
    ReleaseRow,
    ReportData,
    report_data,
)

# A noisy trip can have thousands of excursions: the table lists the longest,
# the summary counts them all.
EXCURSION_ROWS = 100
CONTENT_WIDTH = A4[0] - 36 * mm

_styles = getSampleStyleSheet()
TITLE = ParagraphStyle("ReportTitle", parent=_styles["Title"], fontSize=16, alignment=TA_LEFT)
HEADING = ParagraphStyle("ReportHeading", parent=_styles["Heading2"], fontSize=12, spaceBefore=8)
SUBHEADING = ParagraphStyle("ReportSubheading", parent=_styles["Heading3"], fontSize=9.5)
BODY = ParagraphStyle("ReportBody", parent=_styles["BodyText"], fontSize=8.5, leading=10.5)
CELL = ParagraphStyle("ReportCell", parent=BODY, fontSize=7.5, leading=9)
# Unindented and small enough that a cosignature line (about 130 characters of
# Courier) fits the text width: the note must be printed unwrapped, as signed.
NOTE = ParagraphStyle(
    "ReportNote", parent=_styles["Code"], fontSize=6, leading=7.5, leftIndent=0, firstLineIndent=0
)
GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.92, 0.95)),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.Color(0.7, 0.7, 0.7)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
)


def shipment_report_pdf(shipment: Shipment) -> bytes:
    """The delivery report of ``shipment``: compressed PDF bytes."""
    return render_report_pdf(report_data(shipment))


def render_report_pdf(data: ReportData, *, compress: bool = True) -> bytes:
    """The report of ``data``; ``compress=False`` leaves page streams readable as text."""
    buffer = io.BytesIO()
    reference = data.header.reference
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Shipment report {reference}",
        author="coldchain",
        subject="Cold-chain shipment report: temperatures, excursions, alerts and evidence",
        invariant=1,
        pageCompression=1 if compress else 0,
    )

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.Color(0.4, 0.4, 0.4))
        canvas.drawString(18 * mm, 9 * mm, f"coldchain shipment report {reference}")
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    document.build(story(data), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def story(data: ReportData) -> list[Flowable]:
    return [
        *header_section(data),
        *temperature_section(data),
        *excursion_section(data),
        *alerts_section(data.alerts),
        *contract_actions_section(data.contract_actions),
        *release_section(data.release),
        *evidence_section(
            data.checkpoint, readings=len(data.readings), pending=data.readings_pending
        ),
    ]


def header_section(data: ReportData) -> list[Flowable]:
    header = data.header
    # The shipment's facts on the left, its parties on the right.
    left = [
        ("Product", header.product),
        ("Allowed range", f"{header.temp_min_c:g} to {header.temp_max_c:g} °C"),
        ("Excursion band", f"{header.band_min_c:g} to {header.band_max_c:g} °C"),
        ("From", header.origin),
        ("To", header.destination),
        ("Departure", _when(header.departure_at)),
        ("Deadline", _when(header.deadline_at)),
        ("Delivered", _when(header.delivered_at)),
        ("Status", header.status),
    ]
    right = list(header.parties)
    rows = max(len(left), len(right))
    left += [("", "")] * (rows - len(left))
    right += [("", "")] * (rows - len(right))
    cells = [
        [_bold(a), _cell(b), _bold(c), _cell(d)] for (a, b), (c, d) in zip(left, right, strict=True)
    ]
    width = CONTENT_WIDTH / 2
    table = Table(cells, colWidths=[0.32 * width, 0.68 * width] * 2, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return [Paragraph(f"Shipment report {escape(header.reference)}", TITLE), table]


def temperature_section(data: ReportData) -> list[Flowable]:
    summary = data.summary
    if data.readings.empty:
        return [Paragraph("Temperature", HEADING), Paragraph(_no_readings(data), BODY)]
    validated = line_from_series(
        data.validated, label="validated cargo (quorum)", color=VALIDATED_COLOR, width=1.3
    )
    device_lines = {
        device: line_from_series(
            frame.set_index("ts")["temp_c"], label=device, color=PALETTE[number % len(PALETTE)]
        )
        for number, (device, frame) in enumerate(data.readings.groupby("device", sort=True))
    }
    start = min(data.readings["ts"].min(), *data.validated.index[:1])
    end = max(data.readings["ts"].max(), *data.validated.index[-1:])
    chart_options = {
        "start": start.to_pydatetime(),
        "end": end.to_pydatetime(),
        "range_c": (data.header.temp_min_c, data.header.temp_max_c),
        "band_c": (data.header.band_min_c, data.header.band_max_c),
        "excursions": summary.excursions,
        "width": CONTENT_WIDTH,
    }
    quorum = ", ".join(data.quorum_devices) or "none"
    flowables: list[Flowable] = [
        Paragraph("Temperature", HEADING),
        Paragraph(
            "Green: the allowed range; sand: the excursion band; red and blue: excursions "
            "above and below the range, from the validated cargo temperature (the quorum of "
            f"the independent loggers {escape(quorum)}). Times in UTC. Long trips are drawn "
            "from the lowest and the highest reading of each slot of the chart.",
            BODY,
        ),
        temperature_chart([*device_lines.values(), validated], **chart_options),
    ]
    for device, line in device_lines.items():
        role = "in the quorum" if device in data.quorum_devices else "not in the quorum"
        flowables.append(
            KeepTogether(
                [
                    Paragraph(f"Device {escape(device)} ({role})", SUBHEADING),
                    temperature_chart([line, validated], height=130.0, **chart_options),
                ]
            )
        )
    return flowables


def _no_readings(data: ReportData) -> str:
    if not data.readings_pending:
        return "No readings were received."
    return (
        f"None of the {data.readings_pending} readings received is in a signed checkpoint "
        "yet; they will be shown once the log is sealed."
    )


def excursion_section(data: ReportData) -> list[Flowable]:
    summary, allowances = data.summary, data.allowances
    period = (
        f"{_when(summary.first_at)} to {_when(summary.last_at)}, {_minutes(summary.period_minutes)}"
        if summary.first_at
        else "no validated temperature"
    )
    coverage = (
        100.0 * (summary.period_minutes - summary.unvalidated_minutes) / summary.period_minutes
        if summary.period_minutes
        else 0.0
    )
    rows = [
        ("", "Measured", "Allowed (accounting terms)"),
        ("Accounted period", period, ""),
        ("Validated (quorum) coverage", f"{coverage:.1f} % of the period", ""),
        ("Unvalidated time (no quorum)", _minutes(summary.unvalidated_minutes), ""),
        ("Minimum / maximum", f"{_celsius(summary.min_c)} / {_celsius(summary.max_c)}", ""),
        (
            "Mean kinetic temperature (MKT)",
            _celsius(summary.mkt_c),
            _celsius(allowances.mkt_limit_c),
        ),
        ("Highest MKT over 24 h", _celsius(summary.mkt_24h_max_c), ""),
        ("Time in range", _minutes(summary.in_range_minutes), ""),
        (
            "Time out of range (cumulative)",
            _minutes(summary.cumulative_minutes),
            _minutes(allowances.max_cumulative_excursion_min),
        ),
        (
            "Longest excursion",
            _minutes(summary.longest_minutes),
            _minutes(allowances.max_single_excursion_min),
        ),
        ("Out of range, inside the band", _minutes(summary.band_minutes), ""),
        ("Outside the excursion band", _minutes(summary.beyond_band_minutes), "none"),
        ("Excursions", str(len(summary.excursions)), ""),
    ]
    table = Table(
        [[_cell(text) for text in row] for row in rows],
        colWidths=[0.36 * CONTENT_WIDTH, 0.4 * CONTENT_WIDTH, 0.24 * CONTENT_WIDTH],
        hAlign="LEFT",
        repeatRows=1,
    )
    table.setStyle(GRID)
    return [
        CondPageBreak(60 * mm),
        Paragraph("Excursion accounting", HEADING),
        Paragraph(
            "From the validated cargo temperature on a one-minute grid; each value counts "
            "until the next one. MKT per USP &lt;1079&gt; (activation energy 83.144 kJ/mol). "
            "See the contracts documentation for the counting rules.",
            BODY,
        ),
        table,
        *excursion_table(data),
    ]


def excursion_table(data: ReportData) -> list[Flowable]:
    excursions = data.summary.excursions
    if not excursions:
        return [Spacer(1, 4), Paragraph("No excursion.", BODY)]
    numbered = list(enumerate(excursions, start=1))
    longest = sorted(numbered, key=lambda pair: pair[1].minutes, reverse=True)[:EXCURSION_ROWS]
    shown = sorted(longest, key=lambda pair: pair[0])
    rows = [["#", "Side", "Start", "End", "Out of range", "No quorum", "Peak", "Band"]]
    rows += [
        [
            str(n),
            e.direction,
            _when(e.start),
            _when(e.end),
            _minutes(e.minutes),
            _minutes(e.unvalidated_minutes),
            _celsius(e.peak_c),
            "within" if e.within_band else "beyond",
        ]
        for n, e in shown
    ]
    table = Table(rows, repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    caption = (
        f"The {len(shown)} longest of {len(excursions)} excursions, in time order."
        if len(shown) < len(excursions)
        else "Excursions, in time order."
    )
    return [Spacer(1, 6), Paragraph(caption, BODY), table]


def alerts_section(alerts: tuple[AlertRow, ...]) -> list[Flowable]:
    flowables: list[Flowable] = [Paragraph("Alerts", HEADING)]
    if not alerts:
        return [*flowables, Paragraph("No alert was raised.", BODY)]
    rows = [[_cell(t) for t in ("Alert", "Opened", "Closed", "Models", "Top factors")]]
    rows += [
        [
            _cell(f"{alert.kind} ({alert.status.lower()})"),
            _cell(_when(alert.opened_at)),
            _cell(_when(alert.closed_at)),
            _cell(alert.models),
            Paragraph("<br/>".join(escape(f) for f in alert.factors) or "none", CELL),
        ]
        for alert in alerts
    ]
    share = (0.16, 0.15, 0.15, 0.16, 0.38)
    table = Table(rows, colWidths=[s * CONTENT_WIDTH for s in share], repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return [*flowables, table]


def contract_actions_section(actions: tuple[ContractActionRow, ...]) -> list[Flowable]:
    """Claims, payments and notices the contract engine emitted, each anchored in the log."""
    flowables: list[Flowable] = [Paragraph("Contract actions", HEADING)]
    if not actions:
        return [*flowables, Paragraph("No contract action was recorded.", BODY)]
    rows = [[_cell(t) for t in ("Action", "At", "Description", "Log index")]]
    rows += [
        [
            _cell(action.kind),
            _cell(_when(action.at)),
            _cell(action.description),
            _cell(_index(action.ledger_index)),
        ]
        for action in actions
    ]
    share = (0.16, 0.17, 0.55, 0.12)
    table = Table(rows, colWidths=[s * CONTENT_WIDTH for s in share], repeatRows=1, hAlign="LEFT")
    table.setStyle(GRID)
    return [*flowables, table]


def release_section(release: ReleaseRow | None) -> list[Flowable]:
    """The receiver's signed release or rejection of the load."""
    flowables: list[Flowable] = [Paragraph("Release signature", HEADING)]
    if release is None:
        return [*flowables, Paragraph("The load has not been signed for.", BODY)]
    text = (
        f"<b>{escape(release.decision)}</b> by {escape(release.signer)} on "
        f"{escape(_when(release.signed_at))}, meaning: {escape(release.meaning)}."
        + (f" Reason: {escape(release.reason)}." if release.reason else "")
        + f" Log index {escape(_index(release.ledger_index))}."
    )
    return [*flowables, Paragraph(text, BODY)]


def evidence_section(
    checkpoint: CheckpointInfo | None, *, readings: int, pending: int
) -> list[Flowable]:
    flowables: list[Flowable] = [CondPageBreak(50 * mm), Paragraph("Evidence", HEADING)]
    if checkpoint is None:
        return [*flowables, Paragraph("The log has no signed checkpoint yet.", BODY)]
    return [
        *flowables,
        Paragraph(
            f"This report rests on the shipment's {readings} readings in the log's tree of "
            f"size <b>{checkpoint.size}</b>, root hash <font face='Courier'>"
            f"{checkpoint.root_hash.hex()}</font> (SHA-256, RFC 9162); an evidence bundle "
            f"gives each one's inclusion proof against it. {_pending(pending)}"
            "The signed note of that checkpoint, with the witnesses' cosignatures:",
            BODY,
        ),
        Spacer(1, 3),
        XPreformatted(escape(checkpoint.signed_note), NOTE),
    ]


def _pending(pending: int) -> str:
    if not pending:
        return ""
    return f"{pending} readings received since are not in it yet and not in this report. "


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _minutes(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.1f} min"
    return f"{minutes / 60:.1f} h ({minutes:.0f} min)"


def _celsius(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} °C"


def _index(index: int | None) -> str:
    return "pending" if index is None else str(index)


def _cell(text: str) -> Paragraph:
    return Paragraph(escape(text), CELL)


def _bold(text: str) -> Paragraph:
    return Paragraph(f"<b>{escape(text)}</b>" if text else "", CELL)
