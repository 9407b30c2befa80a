"""What a run measured, as plain data the report writer renders (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stats import Summary, summarize

OK = "ok"
NOT_AVAILABLE = "not available yet"


@dataclass
class ToolResult:
    """One tool's samples for one operation; ``status`` says why there are none when there are none."""

    tool: str
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # CPU seconds of the client process tree, per sample
    status: str = OK
    command: str = ""
    output_bytes: int | None = None  # size of what the command wrote, a check that like is compared with like

    @property
    def summary(self) -> Summary | None:
        return summarize(self.samples) if self.status == OK else None


@dataclass
class OperationResult:
    """One benchmarked operation: dockyard first, then the peers, and the targets per peer."""

    key: str
    title: str
    description: str
    tools: list[ToolResult]
    targets: dict[str, float] = field(default_factory=dict)  # peer -> highest acceptable ratio
    nbytes: int | None = None  # bytes the operation moves, to read its rate against the limits

    def tool(self, name: str) -> ToolResult | None:
        return next((t for t in self.tools if t.tool == name), None)


@dataclass
class LimitResult:
    """A physical limit: bytes processed per sample, with the samples' durations."""

    name: str
    nbytes: int
    samples: list[float]
    note: str = ""


@dataclass
class ProfileResult:
    operation: str
    command: str
    total_seconds: float
    top_functions: list[tuple[str, float]]  # (function location, own seconds), largest first
    tree_excerpt: str
    reading: str = ""


@dataclass
class RunResults:
    machine: dict[str, str]
    settings: dict[str, str]
    operations: list[OperationResult] = field(default_factory=list)
    limits: list[LimitResult] = field(default_factory=list)
    profiles: list[ProfileResult] = field(default_factory=list)  # one per dockyard operation that ran
    notes: list[str] = field(default_factory=list)


def group_of(key: str) -> str:
    """The `--only` name an operation key belongs to ("images-1000" -> "images", "push-blobs" -> "push")."""
    return key.split("-", 1)[0]


def merge(previous: RunResults, fresh: RunResults, ran: set[str], order: tuple[str, ...]) -> RunResults:
    """A partial run's results laid over the last full set: what ran replaces, what did not is kept."""
    kept = [op for op in previous.operations if group_of(op.key) not in ran]
    new = [op for op in fresh.operations if group_of(op.key) in ran]
    rank = {name: i for i, name in enumerate(order)}
    operations = sorted(kept + new, key=lambda op: rank.get(group_of(op.key), len(rank)))  # stable within a group
    profiles = [p for p in previous.profiles if group_of(p.operation) not in ran] + fresh.profiles
    settings = {**previous.settings, **fresh.settings}
    settings["partial re-runs"] = "; ".join(
        x for x in (previous.settings.get("partial re-runs", ""),
                    f"{', '.join(sorted(ran))} on {fresh.machine.get('date', '?')}") if x)
    return RunResults(
        machine={**previous.machine, **{k: v for k, v in fresh.machine.items() if k != "date"}},
        settings=settings,
        operations=operations,
        limits=fresh.limits if "limits" in ran else previous.limits,
        profiles=profiles,
        notes=previous.notes + fresh.notes,
    )
