"""``ypv upstream …``: resell upstream SMS-Activate-compatible providers."""

from pathlib import Path

from ypv import db, money
from ypv.models import Upstream, UpstreamEvent, UpstreamOrphan
from ypv.upstream import orphans, registry, report, sync


def cmd_add(args, config):
    key = Path(args.key_file).read_text(encoding="utf-8").strip()
    with db.connection():
        upstream = registry.add(
            args.name, args.url, key, args.now, priority=args.priority, timeout=args.timeout,
            markup_bp=registry.percent_to_bp(args.markup_percent), markup_fixed=money.parse_amount(args.markup_fixed),
            honours_order_id=args.order_id)
    print(f"upstream {upstream.name} added (priority {upstream.priority}); run `ypv upstream sync {upstream.name}`")


def cmd_list(args, config):
    with db.connection():
        print("name\tpriority\tmarkup\tstatus\tbalance\tsynced\torphans\tlast error\turl")
        for u in registry.by_priority():
            open_orphans = UpstreamOrphan.select().where(
                (UpstreamOrphan.upstream == u.id) & UpstreamOrphan.cancelled_at.is_null()).count()
            balance = money.render(u.balance) if u.balance is not None else "-"
            markup = f"{u.markup_bp / 100:g}%+{money.render(u.markup_fixed)}"
            print(f"{u.name}\t{u.priority}\t{markup}\t{u.status.upper()}\t{balance}\t{u.synced_at or '-'}\t"
                  f"{open_orphans}\t{u.last_error or '-'}\t{u.url}")


def cmd_remove(args, config):
    with db.connection():
        registry.remove(args.name)
    print(f"upstream {args.name} removed")


def cmd_sync(args, config):
    with db.connection():
        targets = [registry.find(args.name)] if args.name else registry.by_priority()
        failed = 0
        for upstream in targets:
            try:
                result = sync.sync(upstream)
                print(f"{upstream.name}: {result['prices']} prices, balance {money.render(result['balance'])}")
            except Exception as exc:  # reported per upstream; the exit status says something failed
                failed += 1
                print(f"{upstream.name}: sync FAILED: {getattr(exc, 'reason', exc)}")
    return 1 if failed else 0


def cmd_reconcile(args, config):
    with db.connection():
        for upstream in registry.by_priority():
            result = orphans.reconcile(upstream, args.now, args.grace)
            print(f"{upstream.name}: {result['found']} new orphan(s), {result['cancelled']} cancelled, "
                  f"{result['open']} still open")


def cmd_report(args, config):
    with db.connection():
        rows = report.daily(args.now - args.days * 86400)
    print("day\tupstream\tsold\tsales\tspend\tmargin")
    for r in rows:
        print(f"{r['day']}\t{r['upstream']}\t{r['count']}\t{money.render(r['sales'])}\t{money.render(r['spend'])}\t"
              f"{money.render(r['margin'])}")


def cmd_errors(args, config):
    with db.connection():
        query = (UpstreamEvent.select(UpstreamEvent, Upstream.name).join(Upstream)
                 .order_by(UpstreamEvent.id.desc()).limit(args.limit))
        for event in query:
            print(f"{event.created_at}\t{event.upstream.name}\t{event.action}\t{event.detail}")


def register(add) -> None:
    add("upstream add", cmd_add, "resell an upstream SMS-Activate-compatible provider",
        (["name"], {}), (["url"], {}), (["--key-file"], {"required": True}),
        (["--priority"], {"type": int, "default": 100}), (["--timeout"], {"type": float, "default": 10.0}),
        (["--markup-percent"], {"default": "0"}), (["--markup-fixed"], {"default": "0.00"}),
        (["--order-id"], {"action": "store_true", "help": "the upstream honours orderId (safe retry)"}))
    add("upstream list", cmd_list, "upstreams with status, balance, orphans and last error")
    add("upstream remove", cmd_remove, "stop reselling an upstream", (["name"], {}))
    add("upstream sync", cmd_sync, "pull countries, services, prices and stock", (["name"], {"nargs": "?"}))
    add("upstream reconcile", cmd_reconcile, "find and cancel upstream activations nobody pays for",
        (["--grace"], {"type": float, "default": 60.0}))
    add("upstream report", cmd_report, "sales, upstream spend and margin per day",
        (["--days"], {"type": int, "default": 30}))
    add("upstream errors", cmd_errors, "recent upstream failures, newest first",
        (["--limit"], {"type": int, "default": 50}))
