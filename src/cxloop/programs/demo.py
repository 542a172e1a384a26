"""Demo data of programs: ~40 ideas 服务金点子 over the last 8 weeks with a best idea per week
(rewarded with points when the author is a customer) and 2 adopted; 2 audit checklists
(门店服务, 电话客服) and ~30 mystery-shopper audits over 3 months across the demo stores."""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.utils import timezone

from cxloop.customers.demo import stores
from cxloop.customers.models import Customer
from cxloop.programs import audits, services
from cxloop.programs.models import AuditTemplate, Idea

IDEAS = [
    (
        "收银台增加自助扫码通道",
        "高峰期排队太久，建议在收银台旁边加两台自助扫码机，买得少的顾客可以自己结账，节省大家的时间。",
    ),
    (
        "会员积分可以抵扣停车费",
        "每次来门店停车都要另外付费，希望会员积分能直接抵扣停车费，这样更愿意常来。",
    ),
    (
        "生鲜区标注产地和到货时间",
        "蔬菜水果如果能标注产地和当天到货时间，买的时候更放心，也能看出新鲜程度。",
    ),
    (
        "客服电话增加回拨功能",
        "打客服电话经常要排队等很久，建议排队超过三分钟可以选择稍后回拨，不用一直拿着手机等。",
    ),
    (
        "退货流程在小程序上一键办理",
        "现在退货要填很多信息，希望小程序里能一键发起退货，快递员上门取件。",
    ),
    ("母婴室增加温奶器", "门店的母婴室很干净，但是没有温奶器，带宝宝出来很不方便，建议配一个。"),
    ("雨天门口提供伞套和防滑垫", "下雨天门口地面很滑，老人容易摔倒，建议雨天提供伞套并铺防滑垫。"),
    (
        "配送时间可以精确到一小时",
        "送货时间段太宽了，一等就是半天，希望可以选择一小时内的配送时段。",
    ),
    (
        "店员佩戴擅长领域的胸牌",
        "想咨询家电问题时不知道找谁，建议店员胸牌上写明擅长的品类，方便顾客找到合适的人。",
    ),
    ("老年人专属服务时段", "每周二上午可以设老年人专属时段，安排店员协助找商品和结账，很暖心。"),
    (
        "电子小票自动发到会员账户",
        "纸质小票容易丢，开发票也麻烦，建议结账后电子小票自动发到会员账户里。",
    ),
    ("缺货商品到货提醒", "想买的商品经常缺货，希望能在小程序登记，到货后短信提醒我。"),
    (
        "试衣间增加呼叫按钮",
        "在试衣间想换尺码还得穿好衣服出来找人，如果有呼叫按钮让店员送过来就好了。",
    ),
    (
        "客服回复附上处理进度链接",
        "投诉之后不知道处理到哪一步了，建议客服回复时附上一个可以查看进度的链接。",
    ),
    ("购物车可以寄存", "逛商场时购物车太占地方，能不能在出口附近设寄存区，看完电影再回来拿。"),
    ("积分兑换增加公益选项", "积分除了兑换商品，希望也能捐给公益项目，比如给山区孩子买书。"),
    ("夜间配送服务", "下班比较晚，希望晚上九点到十一点也能配送生鲜，很多上班族都有这个需求。"),
    ("包装减少塑料使用", "网购的包装太多塑料了，建议改用可降解材料，或者提供简易包装选项。"),
    ("新品试吃活动提前通知会员", "门店的试吃活动很好，但经常错过，希望能提前在会员群里通知。"),
    ("客服工作时间延长到晚上十点", "晚上有问题想咨询，但客服八点就下班了，建议延长到十点。"),
    ("价签字体再大一些", "价签上的字太小，老人看不清，尤其是促销价和原价容易看混，建议加大字体。"),
    ("安装服务预约可以选周末", "买了空调想预约安装，只能选工作日，希望增加周末和晚上的时段。"),
    ("门店增加手机充电站", "逛久了手机没电，如果在休息区有免费充电站就方便多了。"),
    ("会员生日月送小礼品", "生日当月到店可以领一份小礼品或者双倍积分，会让人觉得被重视。"),
]
STAFF_IDEAS = [
    (
        "交接班时共享顾客投诉清单",
        "早晚班交接时把当天未处理完的顾客问题写在共享清单上，避免顾客重复说明。",
    ),
    ("高峰时段临时加开收银台的信号灯", "排队超过五人时收银员按灯，值班经理马上安排加开收银台。"),
]
TEMPLATES = {
    "门店服务": (
        "store",
        [
            ("进门三秒内有店员问候", 2, 5),
            ("店员主动介绍促销活动", 1, 5),
            ("货架整洁、价签清晰准确", 2, 5),
            ("试衣间/体验区干净", 1, 5),
            ("结账排队不超过5分钟", 2, 5),
            ("收银员唱收唱付并提供小票", 1, 5),
            ("离店时店员道别", 1, 5),
        ],
    ),
    "电话客服": (
        "phone",
        [
            ("60秒内接通", 2, 5),
            ("使用标准问候语并报工号", 1, 5),
            ("准确理解问题，无需重复说明", 2, 5),
            ("给出明确的解决方案或时限", 2, 5),
            ("语气友好、有耐心", 1, 5),
            ("结束前确认是否还有其他问题", 1, 5),
        ],
    ),
}
WEEKS, PER_WEEK, AUDITS, AUDIT_DAYS = 8, 5, 30, 90


def _templates(actor) -> list[AuditTemplate]:
    return [
        audits.save_template(
            actor=actor,
            name=name,
            touchpoint=touchpoint,
            items=[{"text": t, "weight": w, "max_score": m} for t, w, m in items],
        )
        for name, (touchpoint, items) in TEMPLATES.items()
    ]


def _ideas(rng: random.Random, now: dt.datetime, staff) -> list[list[Idea]]:
    customers = list(Customer.objects.exclude(phone="").order_by("id")[:40])
    texts = IDEAS + IDEAS  # 48 > WEEKS × PER_WEEK
    rng.shuffle(texts)
    by_week = []
    for week in range(WEEKS):
        ideas = []
        for i in range(PER_WEEK):
            title, body = texts.pop()
            if week == 2 and i == 0:
                title, body = STAFF_IDEAS[0]
            customer = rng.choice(customers) if customers and rng.random() < 0.7 else None
            created = now - dt.timedelta(days=7 * (WEEKS - week) - i, hours=rng.randint(0, 10))
            idea, _new = services.submit_idea(
                title=title,
                body=body,
                channel=rng.choice(["public", "public", "api"]),
                customer=customer,
                author_user=staff if title == STAFF_IDEAS[0][0] else None,
                contact_name=customer.name if customer else "",
                store=rng.choice(stores())[1],
                now=created,
            )
            ideas.append(idea)
        by_week.append(ideas)
    return by_week


def _decide(rng: random.Random, by_week: list[list[Idea]], now: dt.datetime, actor) -> int:
    adopted = 0
    for week, ideas in enumerate(by_week):
        # Exactly 7 days apart: each lands in its own ISO week.
        decided_at = now - dt.timedelta(days=7 * (WEEKS - week) - 5)
        best, *others = sorted(ideas, key=lambda idea: -(idea.sentiment or 0))
        services.shortlist_idea(idea=best, actor=actor)
        services.choose_weekly_best(idea=best, actor=actor, now=decided_at)
        if week in (1, 4):
            services.adopt_idea(
                idea=best,
                actor=actor,
                owner=actor,
                due_date=(decided_at + dt.timedelta(days=30)).date(),
            )
            adopted += 1
        for other in others[:2]:
            services.shortlist_idea(idea=other, actor=actor)
        if others and rng.random() < 0.5:
            services.reject_idea(idea=others[-1], actor=actor, note="暂不具备条件")
    return adopted


def _audits(rng: random.Random, templates, now: dt.datetime, actor) -> int:
    names = [store for _region, store in stores()][:10]
    weak = set(rng.sample(names, 3))  # a few stores do worse, so the scores page shows it
    for n in range(AUDITS):
        template = templates[n % 2]
        store = rng.choice(names)
        visited = now - dt.timedelta(days=rng.randint(1, AUDIT_DAYS), hours=rng.randint(0, 8))
        scores = {}
        for item in template.items.filter(is_active=True):
            low = 1 if store in weak else 3
            scores[item.pk] = {"score": rng.randint(low, item.max_score), "comment": ""}
        audits.record_audit(
            actor=actor,
            template=template,
            store=store,
            visited_at=visited,
            scores=scores,
            shopper_name=rng.choice(["神秘顾客A", "神秘顾客B", "王女士"]),
            now=now,
        )
    return AUDITS


def load_programs_demo(*, now: dt.datetime | None = None, seed: int = 7) -> str:
    """Load once (a database with ideas is left alone); a summary line."""
    if Idea.objects.exists():
        return "Programs demo already loaded."
    now, rng = now or timezone.now(), random.Random(seed)
    users = get_user_model().objects.filter(is_active=True).order_by("-is_superuser", "id")
    actor = users.first()
    by_week = _ideas(rng, now, staff=actor)
    adopted = _decide(rng, by_week, now, actor)
    count = _audits(rng, _templates(actor), now, actor)
    ideas = sum(len(week) for week in by_week)
    return (
        f"Programs: {ideas} ideas, {len(by_week)} weekly best, {adopted} adopted; "
        f"2 audit checklists, {count} audits."
    )
