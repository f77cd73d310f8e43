"""What the club tells people, and when: message kinds, languages, quiet hours, reminder
times, retry back-off and the texts themselves. Pure: no I/O.

Essential (transactional) messages are the ones a person needs to act on something they
asked for or that concerns them directly: a booking's confirmation, move or cancellation,
a complaint's acknowledgement and answer (R2 §3.4), and every staff message. The club's
policy is that these go whatever the customer chose about other messages; everything else
(reminders, the no-show notice, the survey invitation, the follow-up call notice) needs the
customer not to have unsubscribed, and carries an unsubscribe link (personal-information law
expects a way out of every message that is not strictly needed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from club_platform.errors import Invalid

LANGUAGES = ("zh-CN", "en")


class Kind(StrEnum):
    # customers
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_MOVED = "booking_moved"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_REMINDER = "booking_reminder"
    NO_SHOW = "no_show"
    SURVEY_INVITATION = "survey_invitation"
    COMPLAINT_ACKNOWLEDGED = "complaint_acknowledged"
    COMPLAINT_RESOLVED = "complaint_resolved"
    FOLLOWUP_SCHEDULED = "followup_scheduled"
    # staff
    COMPLAINT_ASSIGNED = "complaint_assigned"
    COMPLAINT_ESCALATED = "complaint_escalated"
    DISCIPLINE_OPENED = "discipline_opened"
    DISCIPLINE_DECIDED = "discipline_decided"
    POLICY_REVISED = "policy_revised"
    TRAINING_ASSIGNED = "training_assigned"
    SHIFT_CHANGED = "shift_changed"


# Every staff message is essential: each is about the person's own work (a case about them,
# a training they must attend, their rota), and staff have no unsubscribe link to offer.
STAFF_KINDS = frozenset({Kind.COMPLAINT_ASSIGNED, Kind.COMPLAINT_ESCALATED,
                         Kind.DISCIPLINE_OPENED, Kind.DISCIPLINE_DECIDED, Kind.POLICY_REVISED,
                         Kind.TRAINING_ASSIGNED, Kind.SHIFT_CHANGED})
NON_ESSENTIAL = frozenset({Kind.BOOKING_REMINDER, Kind.NO_SHOW, Kind.SURVEY_INVITATION,
                          Kind.FOLLOWUP_SCHEDULED})
WITH_CALENDAR = frozenset({Kind.BOOKING_CONFIRMED, Kind.BOOKING_MOVED, Kind.BOOKING_CANCELLED})


def is_essential(kind: Kind) -> bool:
    return kind not in NON_ESSENTIAL


def language_of(preference: object, default: str) -> str:
    """zh-CN or en from whatever the record holds ("zh", "zh-Hans", "EN-gb", …)."""
    if isinstance(preference, str):
        value = preference.strip().lower()
        if value.startswith("zh"):
            return "zh-CN"
        if value.startswith("en"):
            return "en"
    return default


# ------------------------------------------------------------------ quiet hours


@dataclass(frozen=True)
class QuietHours:
    """A daily window in the club's time zone when no reminder goes out, e.g. 22:00–08:00."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """"22:00-08:00"; an empty text means no quiet hours."""
        if not text.strip():
            return None
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        if not match:
            raise ValueError(f"quiet hours must look like 22:00-08:00, not {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
            raise ValueError(f"quiet hours {text!r} are not a window of the day")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, moment: datetime, zone: ZoneInfo) -> bool:
        local = moment.astimezone(zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """When the quiet window `moment` falls in ends."""
        local = moment.astimezone(zone)
        end = datetime.combine(local.date(), self.end, zone)
        if end <= local:
            end += timedelta(days=1)
        return end

    def began_before(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """When the quiet window `moment` falls in began."""
        local = moment.astimezone(zone)
        start = datetime.combine(local.date(), self.start, zone)
        if start > local:
            start -= timedelta(days=1)
        return start


# A reminder deferred past quiet hours must still leave the customer time to come.
MIN_LEAD = timedelta(minutes=30)


def outside_quiet_hours(due: datetime, starts_at: datetime, quiet: QuietHours | None,
                        zone: ZoneInfo) -> datetime | None:
    """When a reminder due at `due` may go: as due; or, inside quiet hours, when they end if
    that is still MIN_LEAD before the booking; else just before they began (the evening
    before). None when neither fits (then the reminder is not sent)."""
    if quiet is None or not quiet.contains(due, zone):
        return due
    after = quiet.ends_after(due, zone)
    if after <= starts_at - MIN_LEAD:
        return after
    before = quiet.began_before(due, zone) - timedelta(minutes=1)
    return before if before < starts_at else None


def reminder_times(starts_at: datetime, hours_before: tuple[float, ...], now: datetime,
                   quiet: QuietHours | None, zone: ZoneInfo) -> list[tuple[float, datetime]]:
    """(hours before, when to send) for each reminder still ahead of `now`; two reminders
    that quiet hours push to the same moment are sent once."""
    found: dict[datetime, float] = {}
    for hours in sorted(hours_before, reverse=True):
        due = starts_at - timedelta(hours=hours)
        at = outside_quiet_hours(due, starts_at, quiet, zone)
        if at is None or at < now - timedelta(minutes=1) or at >= starts_at:
            continue
        found.setdefault(at, hours)
    return sorted(((h, at) for at, h in found.items()), key=lambda pair: pair[1])


def parse_hours(text: str) -> tuple[float, ...]:
    """"24,2" → (24.0, 2.0)."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"reminder hours must be numbers separated by commas, not {text!r}") from None
    if any(not 0 < v <= 24 * 14 for v in values):
        raise ValueError("each reminder must be between 0 and 336 hours before the booking")
    return values


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """Exponential back-off after the n-th failed attempt (1, 2, 4, … × base, capped)."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), cap_seconds))


# ------------------------------------------------------------------ texts

_WHEN = {"zh-CN": "%Y年%m月%d日 %H:%M", "en": "%a %d %b %Y, %H:%M"}
_COMPENSATION = {
    "zh-CN": {"none": "无", "voucher": "代金券", "refund": "退款", "service_credit": "服务抵用",
              "gift": "礼品"},
    "en": {"none": "none", "voucher": "a voucher", "refund": "a refund",
           "service_credit": "a service credit", "gift": "a gift"},
}
_DISCIPLINE = {
    "zh-CN": {"verbal_warning": "口头警告", "written_warning": "书面警告", "fine": "罚款",
              "suspension": "停职", "termination": "解除劳动合同"},
    "en": {"verbal_warning": "a verbal warning", "written_warning": "a written warning",
           "fine": "a fine", "suspension": "a suspension", "termination": "termination"},
}

# The codes of HR's default discipline rules, in words; a rule the HR admin adds later shows
# its code.
_VIOLATION = {
    "zh-CN": {"late_arrival": "迟到", "early_leave": "早退", "absence": "缺勤",
              "upheld_complaint": "顾客投诉经核实成立", "dress_code": "着装不符合规定",
              "gift_acceptance": "私自收受顾客礼品或好处",
              "privacy_breach": "侵犯顾客隐私或歧视顾客",
              "confidentiality_breach": "泄露顾客信息或商业秘密",
              "private_dealings": "与顾客私下邀约或交易", "facility_misuse": "不当使用会所设施"},
    "en": {"late_arrival": "late arrival", "early_leave": "early leave", "absence": "absence",
           "upheld_complaint": "a customer complaint upheld", "dress_code": "dress code",
           "gift_acceptance": "accepting a customer's gift", "privacy_breach": "privacy breach",
           "confidentiality_breach": "breach of confidentiality",
           "private_dealings": "private dealings with a customer",
           "facility_misuse": "misuse of the club's facilities"},
}
_SHIFT = {
    "zh-CN": {"scheduled": "新增一个班次，{starts} 至 {ends}（{zone}）。",
              "cancelled": "原定 {starts} 至 {ends}（{zone}）的班次已取消。"},
    "en": {"scheduled": "a new shift, {starts} to {ends} ({zone}).",
           "cancelled": "your shift of {starts} to {ends} ({zone}) is cancelled."},
}

# kind → language → (subject, body). Fields: {club}, times already in the club's time zone,
# and what the payload holds. Nothing personal beyond what the recipient already owns.
TEMPLATES: dict[Kind, dict[str, tuple[str, str]]] = {
    Kind.BOOKING_CONFIRMED: {
        "zh-CN": ("{club}：预约已确认 {starts}",
                  "您好，\n\n您在{club}的预约（{service}）已确认：{starts} 至 {ends}（{zone}）。\n"
                  "日历邀请见附件。预约编号：{ref}。"),
        "en": ("{club}: booking confirmed for {starts}",
               "Hello,\n\nYour booking ({service}) at {club} is confirmed: {starts} to {ends} "
               "({zone}).\nThe calendar invitation is attached. Booking reference: {ref}."),
    },
    Kind.BOOKING_MOVED: {
        "zh-CN": ("{club}：预约已改期至 {starts}",
                  "您好，\n\n您在{club}的预约已由 {previous} 改至 {starts} 至 {ends}（{zone}）。\n"
                  "更新后的日历邀请见附件。预约编号：{ref}。"),
        "en": ("{club}: booking moved to {starts}",
               "Hello,\n\nYour booking at {club} has moved from {previous} to {starts} – {ends} "
               "({zone}).\nThe updated calendar invitation is attached. Booking reference: "
               "{ref}."),
    },
    Kind.BOOKING_CANCELLED: {
        "zh-CN": ("{club}：预约已取消",
                  "您好，\n\n您在{club}于 {starts}（{zone}）的预约已取消。\n"
                  "日历取消通知见附件。预约编号：{ref}。"),
        "en": ("{club}: booking cancelled",
               "Hello,\n\nYour booking at {club} on {starts} ({zone}) has been cancelled.\n"
               "The calendar cancellation is attached. Booking reference: {ref}."),
    },
    Kind.BOOKING_REMINDER: {
        "zh-CN": ("{club}：预约提醒 {starts}",
                  "您好，\n\n提醒您：您在{club}的预约（{service}）将于 {starts}（{zone}）开始。\n"
                  "预约编号：{ref}。"),
        "en": ("{club}: reminder of your booking at {starts}",
               "Hello,\n\nA reminder: your booking ({service}) at {club} starts at {starts} "
               "({zone}).\nBooking reference: {ref}."),
    },
    Kind.NO_SHOW: {
        "zh-CN": ("{club}：我们没有等到您",
                  "您好，\n\n您在{club}于 {starts}（{zone}）的预约未能到场，已记为未到。\n"
                  "如有误会，请联系我们。预约编号：{ref}。"),
        "en": ("{club}: we missed you",
               "Hello,\n\nYou did not come to your booking at {club} on {starts} ({zone}); it "
               "has been recorded as a no-show.\nIf this is a mistake, please contact us. "
               "Booking reference: {ref}."),
    },
    Kind.SURVEY_INVITATION: {
        "zh-CN": ("{club}：请评价您的到访",
                  "您好，\n\n感谢您于 {completed} 光临{club}。请花一分钟评价本次服务：\n{link}\n"
                  "链接有效期至 {expires}。"),
        "en": ("{club}: how was your visit?",
               "Hello,\n\nThank you for visiting {club} on {completed}. Please tell us how it "
               "went; it takes a minute:\n{link}\nThe link works until {expires}."),
    },
    Kind.COMPLAINT_ACKNOWLEDGED: {
        "zh-CN": ("{club}：我们已收到您的投诉",
                  "您好，\n\n我们已于 {opened} 收到您的投诉（编号 {ref}），将在 {due} 前"
                  "给您答复。"),
        "en": ("{club}: we have received your complaint",
               "Hello,\n\nWe received your complaint (reference {ref}) on {opened} and will "
               "answer you by {due}."),
    },
    Kind.COMPLAINT_RESOLVED: {
        "zh-CN": ("{club}：关于您的投诉的答复",
                  "您好，\n\n关于您的投诉（编号 {ref}）：{verdict}\n\n说明：{resolution}\n\n"
                  "补偿：{compensation}"),
        "en": ("{club}: the answer to your complaint",
               "Hello,\n\nAbout your complaint (reference {ref}): {verdict}\n\n"
               "Explanation: {resolution}\n\nCompensation: {compensation}"),
    },
    Kind.FOLLOWUP_SCHEDULED: {
        "zh-CN": ("{club}：我们将致电回访",
                  "您好，\n\n我们的客户关系专员将于 {due} 前后致电，了解您的体验。"),
        "en": ("{club}: we will call you",
               "Hello,\n\nOne of our customer relations specialists will call you around {due} "
               "to hear how your visit went."),
    },
    Kind.COMPLAINT_ASSIGNED: {
        "zh-CN": ("{club}：投诉 {ref} 已分配给您",
                  "投诉 {ref}（{category}，严重程度 {severity}）已分配给您，须在 {due} 前"
                  "首次回复（R2 §3.3）。"),
        "en": ("{club}: complaint {ref} assigned to you",
               "Complaint {ref} ({category}, severity {severity}) is assigned to you; the first "
               "response is due by {due} (R2 §3.3)."),
    },
    Kind.COMPLAINT_ESCALATED: {
        "zh-CN": ("{club}：投诉 {ref} 已升级至您",
                  "投诉 {ref} 已于 {escalated} 升级至第 {level} 级（原因：{reason}），"
                  "请您处理（R2 §3.3）。"),
        "en": ("{club}: complaint {ref} escalated to you",
               "Complaint {ref} was escalated to you on {escalated}, level {level} (reason: "
               "{reason}); please take it over (R2 §3.3)."),
    },
    Kind.DISCIPLINE_OPENED: {
        "zh-CN": ("{club}：您有一项纪律案件已立案",
                  "人事部门已于 {opened} 就您 {occurred} 的“{violation}”一事（依据 {rule}）"
                  "立案，案件编号 {ref}。目前尚未作出处理决定；您可在人事系统中查看案件并"
                  "陈述情况（R1 §7.2）。"),
        "en": ("{club}: a discipline case has been opened about you",
               "On {opened}, case {ref} was opened about {violation} on {occurred} (under "
               "{rule}). Nothing has been decided yet; you can see the case in HR and give your "
               "account (R1 §7.2)."),
    },
    Kind.DISCIPLINE_DECIDED: {
        "zh-CN": ("{club}：纪律处理决定",
                  "关于案件 {ref}（{violation}，依据 {rule}），{decided} 作出的决定为：{action}。"
                  "如有异议，可依 R1 §7.2 申诉。"),
        "en": ("{club}: a discipline decision",
               "In case {ref} ({violation}, under {rule}), the decision of {decided} is: "
               "{action}. You may appeal as R1 §7.2 provides."),
    },
    Kind.POLICY_REVISED: {
        "zh-CN": ("{club}：制度修订待确认：{title}",
                  "制度《{title}》第 {version} 版将于 {effective} 生效，请阅读并确认"
                  "（R1 §9.2）。{training}"),
        "en": ("{club}: a revised policy to acknowledge: {title}",
               "Version {version} of \"{title}\" takes effect on {effective}; please read and "
               "acknowledge it (R1 §9.2). {training}"),
    },
    Kind.TRAINING_ASSIGNED: {
        "zh-CN": ("{club}：培训通知 {starts}",
                  "您已被安排参加一场培训（依据 {clause}），时间为 {starts} 至 {ends}"
                  "（{zone}），请准时出席。培训编号 {ref}，详情请在人事系统中查看。"),
        "en": ("{club}: a training session you must attend, {starts}",
               "You are required to attend a training session (under {clause}): {starts} to "
               "{ends} ({zone}). Please be on time. Session reference {ref}; the details are "
               "in HR."),
    },
    Kind.SHIFT_CHANGED: {
        "zh-CN": ("{club}：排班变更 {starts}",
                  "您的排班有变动：{change}班次编号 {ref}。如有疑问，请联系您的主管。"),
        "en": ("{club}: your rota has changed, {starts}",
               "Your rota has changed: {change} Shift reference {ref}. If anything is unclear, "
               "please ask your manager."),
    },
}

_UNSUBSCRIBE = {
    "zh-CN": "\n\n——\n不想再收到此类消息？退订：{unsubscribe}",
    "en": "\n\n--\nDon't want these messages? Unsubscribe: {unsubscribe}",
}
_SIGNATURE = {"zh-CN": "\n\n{club}", "en": "\n\n{club}"}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def when(moment: str | datetime, language: str, zone: ZoneInfo) -> str:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(zone).strftime(_WHEN[language])


def _money(compensation: dict | None, language: str) -> str:
    if not compensation:
        return _COMPENSATION[language]["none"]
    text = _COMPENSATION[language].get(compensation.get("kind", "none"), compensation["kind"])
    value = compensation.get("value")
    if value:
        text += f" {value['amount']} {value['currency']}"
    return text


def render(kind: Kind, language: str, payload: dict, *, club: str, zone: ZoneInfo,
           link: str | None = None, unsubscribe: str | None = None) -> Rendered:
    """The subject and text of one message; times in the club's time zone."""
    if language not in LANGUAGES:
        raise Invalid(f"no texts in {language!r}; the club writes in {', '.join(LANGUAGES)}")
    zh = language == "zh-CN"
    fields: dict[str, object] = {"club": club, "zone": zone.key, "link": link or ""}
    for name in ("starts", "ends", "previous", "completed", "expires", "opened", "due",
                 "escalated", "decided", "effective", "occurred"):
        if payload.get(name):
            fields[name] = when(payload[name], language, zone)
    fields["ref"] = str(payload.get("ref", ""))[:8]
    for name in ("service", "category", "severity", "reason", "level", "violation", "rule",
                 "title", "version", "resolution", "clause"):
        fields[name] = payload.get(name, "")
    if kind is Kind.COMPLAINT_RESOLVED:
        fields["verdict"] = (("经核实，您的投诉成立，我们深表歉意。" if payload.get("upheld")
                              else "经核实，您的投诉不成立。") if zh else
                             ("we found you were right, and we apologise."
                              if payload.get("upheld") else "we did not find a fault on our side."))
        fields["compensation"] = _money(payload.get("compensation"), language)
    if kind is Kind.DISCIPLINE_DECIDED:
        action = payload.get("action", "")
        fields["action"] = _DISCIPLINE[language].get(action, action)
    if kind is Kind.DISCIPLINE_OPENED:
        violation = str(payload.get("violation", ""))
        fields["violation"] = _VIOLATION[language].get(violation, violation)
    if kind is Kind.SHIFT_CHANGED:
        fields["change"] = _SHIFT[language][payload.get("change", "scheduled")].format(**fields)
    if kind is Kind.POLICY_REVISED:
        fields["training"] = ((" 本次修订须参加培训（R2 §4.2）。" if zh else
                               "This revision requires training (R2 §4.2).")
                              if payload.get("requires_training") else "")
    subject, body = TEMPLATES[kind][language]
    text = body + _SIGNATURE[language]
    if not is_essential(kind):
        if not unsubscribe:
            raise ValueError(f"a {kind} message needs its unsubscribe link")
        text += _UNSUBSCRIBE[language]
        fields["unsubscribe"] = unsubscribe
    return Rendered(subject.format(**fields), text.format(**fields))
