"""What the demo says and who is in it: the three shops, their staff, catalogues and chat phrases."""

from dataclasses import dataclass

from shops.choices import Platform

# Every demo login shares this password, printed by ``seed_demo``; it only ever guards local demo data.
DEMO_PASSWORD = "Demo-Service-2024"  # noqa: S105


@dataclass(frozen=True)
class ShopSpec:
    key: str
    name: str
    platform: str
    industry: str
    timezone: str
    bot_enabled: bool
    queue_enabled: bool
    agent_names: tuple[str, ...]
    owner_name: str
    supervisor_name: str
    conversation_share: float
    buyer_share: float
    price_range: tuple[int, int]
    items: tuple[str, ...]
    questions: tuple[str, ...]
    answers: tuple[str, ...]


SHOPS: tuple[ShopSpec, ...] = (
    ShopSpec(
        key="mianyu",
        name="[Demo] 棉语女装店",
        platform=Platform.TAOBAO,
        industry="apparel",
        timezone="Asia/Shanghai",
        bot_enabled=True,
        queue_enabled=True,
        agent_names=("小美", "阿杰", "糖糖", "小鹿", "木子", "七七"),
        owner_name="棉语店长",
        supervisor_name="主管琳达",
        conversation_share=0.45,
        buyer_share=0.43,
        price_range=(59, 699),
        items=(
            "法式碎花连衣裙",
            "高腰阔腿牛仔裤",
            "纯棉宽松短袖T恤",
            "针织开衫外套",
            "真丝印花衬衫",
            "双面羊毛大衣",
            "百褶半身裙",
            "加绒连帽卫衣",
        ),
        questions=(
            "身高160体重100斤穿什么码？",
            "这件会起球吗？",
            "有没有黑色的？",
            "面料是纯棉的吗？",
            "洗了会缩水吗？",
            "腰围68穿S码可以吗？",
        ),
        answers=(
            "亲，按您的身高体重建议选M码，版型偏宽松哦~",
            "亲，这款是精梳棉面料，正常洗涤不会起球的呢",
            "亲，黑色目前有货，S到XL码都有的哦",
            "亲，建议冷水手洗，缩水率在3%以内，放心购买~",
        ),
    ),
    ShopSpec(
        key="wakou",
        name="[Demo] 和光美妆海外旗舰店",
        platform=Platform.TMALL,
        industry="beauty",
        timezone="Asia/Tokyo",
        bot_enabled=True,
        queue_enabled=False,
        agent_names=("花子", "小樱", "由美", "美咲"),
        owner_name="和光店长",
        supervisor_name="主管优子",
        conversation_share=0.32,
        buyer_share=0.33,
        price_range=(89, 1280),
        items=(
            "玻尿酸保湿精华液 30ml",
            "氨基酸洁面乳 120g",
            "清透防晒乳 SPF50+",
            "深层卸妆油 200ml",
            "美白面膜 10片装",
            "抗皱眼霜 15g",
            "柔肤化妆水 150ml",
            "丝绒哑光口红 #05",
        ),
        questions=(
            "敏感肌可以用吗？",
            "保质期到什么时候？",
            "孕妇能用吗？",
            "是日本直邮的吗？",
            "和专柜是一样的吗？",
            "油皮适合哪款？",
        ),
        answers=(
            "亲，这款无香料无酒精，敏感肌也可以放心使用哦",
            "亲，现货保质期到2028年，请放心~",
            "亲，本店商品均为日本直邮，支持海关查验哦",
            "亲，油皮推荐清爽型，控油效果很好的~",
        ),
    ),
    ShopSpec(
        key="youjia",
        name="[Demo] 义乌优家日用批发",
        platform=Platform.ALI1688,
        industry="home_goods",
        timezone="Asia/Shanghai",
        bot_enabled=False,
        queue_enabled=True,
        agent_names=("老王", "小陈", "阿芳", "小周"),
        owner_name="优家老板",
        supervisor_name="主管阿强",
        conversation_share=0.23,
        buyer_share=0.24,
        price_range=(200, 8000),
        items=(
            "加厚垃圾袋 100只装",
            "硅胶保鲜盖 6件套",
            "不锈钢衣架 20个装",
            "大号塑料收纳箱",
            "超细纤维抹布 10条装",
            "陶瓷马克杯（可定制logo）",
            "一次性丁腈手套 500只",
            "防滑植绒衣架 50个装",
        ),
        questions=(
            "批发500件什么价？",
            "可以定制logo吗？",
            "起订量是多少？",
            "能开增值税专票吗？",
            "有现货吗？一周内要",
            "可以寄样品吗？",
        ),
        answers=(
            "您好，500件以上单价可以再优惠8%，我给您改价~",
            "可以定制的，起订量1000个，打样3天",
            "起批量是2箱，每箱100件",
            "可以开专票的，下单时备注开票信息即可",
        ),
    ),
)

DEMO_SHOP_NAMES: tuple[str, ...] = tuple(spec.name for spec in SHOPS)

GREETINGS = ("在吗？", "你好", "亲，在吗", "hello", "老板在吗")
PRE_SALES_OPENINGS = (
    "你好，这款{item}还有货吗？",
    "{item}现在有优惠吗？",
    "今天下单{item}什么时候发货？",
    "{item}可以便宜点吗？",
    "{item}包邮吗？",
    "请问{item}有赠品吗？",
)
AFTER_SALES_OPENINGS = (
    "我的订单{order}怎么还没发货？",
    "订单{order}的快递三天没动了",
    "收到的货有破损，怎么处理？订单号{order}",
    "我想退货，订单{order}怎么操作？",
    "退款什么时候到账？订单{order}",
    "订单{order}的发票怎么开？",
    "收到的颜色和图片不一样",
)
FOLLOW_UPS = ("好的", "那我拍了", "能发顺丰吗？", "还有别的颜色吗？", "多久能到？", "[表情]", "行吧", "可以改地址吗？")
THANKS = ("谢谢", "好的谢谢", "谢谢亲", "OK")
PRE_SALES_REPLIES = (
    "亲，在的呢~ 请问有什么可以帮您？",
    "亲，这款现货充足，今天16点前下单当天发货哦",
    "亲，目前店铺满199减20，还可以叠加优惠券哦",
    "亲，默认发中通，顺丰需要补差价10元哦",
    "亲，下单备注一下，仓库会优先安排的~",
)
AFTER_SALES_REPLIES = (
    "亲，非常抱歉给您带来不便，麻烦发一下破损照片，我们马上为您处理",
    "亲，已经帮您催促快递了，请再耐心等待一下",
    "亲，退款申请已同意，1-3个工作日原路退回哦",
    "亲，在订单页面点击【申请售后】，选择退货退款就可以了",
    "亲，已帮您登记补发，单号稍后发给您",
)
CLOSINGS = ("不客气，祝您生活愉快~ 有问题随时找我哦", "感谢您的耐心，期待您的好评~", "好的亲，有需要随时联系~")
BOT_WELCOME = "您好，我是店小蜜，很高兴为您服务~ 您可以直接描述问题，或点击下方【转人工】联系客服。"
# The service assistant's knowledge base: (question, keywords, answer, similar questions).
FAQ = (
    (
        "什么时候发货？",
        ["发货", "几天发", "什么时候发"],
        "亲，关于发货：付款后48小时内发货，节假日顺延哦。",
        ["今天下单今天能发吗", "拍了多久发出"],
    ),
    (
        "可以退换货吗？",
        ["退货", "换货", "退换", "七天无理由"],
        "亲，关于退换货：支持7天无理由退换（不影响二次销售）。",
        ["不合适能退吗", "我想退货怎么操作"],
    ),
    (
        "有什么优惠？",
        ["优惠", "便宜", "优惠券", "满减"],
        "亲，关于优惠：领取店铺优惠券后下单自动抵扣哦。",
        ["能便宜点吗"],
    ),
    ("怎么查物流？", ["物流", "快递", "到哪了", "单号"], "亲，关于物流：下单后可在【我的订单】查看物流进度。", []),
    ("包邮吗？", ["包邮", "运费"], "亲，全国包邮（新疆、西藏等偏远地区除外）哦。", ["要运费吗"]),
    ("还有货吗？", ["有货", "库存"], "亲，页面能拍下的颜色尺码都有现货哦。", ["这个颜色还有吗"]),
    ("有赠品吗？", ["赠品"], "亲，下单就送运费险和小礼品一份哦。", []),
    ("可以改地址吗？", ["改地址"], "亲，未发货前可以在订单页修改地址，已发货请联系客服拦截。", ["地址填错了"]),
)
BOT_FAQ = tuple(answer for _, _, answer, _ in FAQ)
TRANSFER_REQUESTS = ("转人工", "人工客服", "我要找人工", "转人工客服谢谢")
AUTO_REPLY_WELCOME = "亲，欢迎光临{shop}！客服{agent}正在为您服务，请稍等~"
AUTO_REPLY_BUSY = "亲，当前咨询较多，客服正在火速赶来，请稍候~"
SUSPICIOUS_LINKS = (
    "我在这里领的优惠券用不了 http://tb-coupon.vip/get?id=8832",
    "客服你看下这个链接 https://refund-tmall.top/claim",
)
OFFICIAL_NOTICE = "【平台通知】该买家已发起退款申请，请在48小时内处理。"
NICK_WORDS = ("快乐的", "爱吃鱼的", "安静的", "小小", "追风的", "温柔的", "勇敢的", "会飞的", "懒懒的", "甜甜的")
NICK_NOUNS = ("小熊", "猫咪", "兔子", "向日葵", "小鱼儿", "柠檬", "星星", "木木", "糖果", "豆豆")

# Relative weight of each local hour for chat start times: a dip at night, peaks mid-morning and evening.
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 3, 5, 7, 7, 5, 5, 6, 6, 6, 5, 4, 5, 7, 8, 6, 3)
