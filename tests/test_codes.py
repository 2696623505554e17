"""Code extraction on a corpus of realistic SMS in several languages and scripts."""

import pytest

from ypv import db, sms
from ypv.codes import compile_pattern, extract_code

CORPUS = [
    # (service, text, code)
    ("wa", "WhatsApp code 123-456. You can also tap on this link to verify your phone: v.whatsapp.com/123456", "123456"),
    ("wa", "Your WhatsApp code: 482-913\nDon't share this code with others", "482913"),
    ("wa", "<#> Код WhatsApp: 551-204. Никому не сообщайте этот код. 4sgLq1p5sV6", "551204"),
    ("go", "G-482913 is your Google verification code.", "482913"),
    ("go", "2026: G-773310 is your Google verification code. Don't share it", "773310"),
    ("go", "G-118822 — ваш код подтверждения Google.", "118822"),
    ("tg", "Telegram code: 51234\n\nYou can also tap on this link to log in: https://t.me/login/51234", "51234"),
    ("tg", "Telegram code 88431", "88431"),
    ("tg", "Код подтверждения Telegram: 70912. Не давайте код никому, даже если его требуют от имени Telegram!", "70912"),
    ("ub", "Your Uber code is 1234. Never share this code. Reply STOP ALL to 89203 to unsubscribe.", "1234"),
    ("ub", "Uber: Your code is 7781. Never share this code.", "7781"),
    ("fb", "FB-55123 is your Facebook confirmation code", "55123"),
    ("fb", "55123 is your Facebook confirmation code", "55123"),
    ("ig", "<#> 736 492 is your Instagram code. Don't share it. ab12CdE", "736492"),
    ("ig", "Use 889 100 to verify your Instagram account.", "889100"),
    ("tw", "Your X verification code is 904821.", "904821"),
    ("am", "918273 is your Amazon OTP. Do not share it with anyone. Call 18001234567 for help.", "918273"),
    ("ds", "Your Discord security code is: 402117", "402117"),
    ("mm", "Use 5512 as Microsoft account security code", "5512"),
    ("vk", "VK: 84213 — код подтверждения. Никому его не говорите.", "84213"),
    ("ok", "Код для входа в ОК: 301122", "301122"),
    ("ot", "Order #88231 confirmed. Your verification code is 4417", "4417"),
    ("ot", "Ваш заказ 12345 на сумму 2500 руб. Код: 9911", "9911"),
    ("ot", "Amount 5000 RUB. Your code: 1234", "1234"),
    ("ot", "2026 Tinder code: 553311", "553311"),
    ("ot", "Your code expires in 5 minutes: 6612", "6612"),
    ("ot", "Code 123 is too short, 12345678 is fine", "12345678"),
    ("ot", "123456789 is too long; use 4321", "4321"),
    ("ot", "You have 3 new messages. Your PIN: 0042", "0042"),
    ("ot", "Your one-time password (OTP) for txn of INR 1500.00 is 665544.", "665544"),
    ("ot", "Ihr Bestätigungscode lautet 731902.", "731902"),
    ("ot", "Votre code de vérification est 4410", "4410"),
    ("ot", "Tu código de verificación es 9087. No lo compartas.", "9087"),
    ("ot", "Kode verifikasi Anda 557120. Jangan berikan kode ini kepada siapa pun.", "557120"),
    ("ot", "Doğrulama kodunuz: 882100", "882100"),
    ("ot", "Twój kod weryfikacyjny to 39107", "39107"),
    ("ot", "您的验证码是 773311，5分钟内有效。", "773311"),
    ("ot", "【腾讯科技】您的验证码为523614，请于5分钟内填写。如非本人操作，请忽略本短信。", "523614"),
    ("ot", "【淘宝】验证码 4452，您正在登录，10分钟内有效", "4452"),
    ("ot", "驗證碼：８８１２３４，請勿洩露", "881234"),
    ("ot", "رمز التحقق الخاص بك هو ٤٥٦٧٨٩", "456789"),
    ("ot", "كود التفعيل: 3321 صالح لمدة 10 دقائق", "3321"),
    ("ot", "인증번호 [482011] 를 입력해주세요", "482011"),
    ("ot", "認証コード：774120 このコードを入力してください", "774120"),
    ("ot", "קוד האימות שלך הוא 90812", "90812"),
    ("ot", "आपका कोड 551234 है", "551234"),
    ("ot", "Your code is 12:34", None),
    ("ot", "Thanks for signing up!", None),
]


def test_the_corpus_is_large_and_varied():
    assert len(CORPUS) >= 40
    assert any("\u0600" <= ch <= "\u06ff" for _, text, _ in CORPUS for ch in text)  # Arabic
    assert any("\u4e00" <= ch <= "\u9fff" for _, text, _ in CORPUS for ch in text)  # Chinese
    assert any("\u0400" <= ch <= "\u04ff" for _, text, _ in CORPUS for ch in text)  # Cyrillic


@pytest.mark.parametrize("service,text,code", CORPUS)
def test_corpus(service, text, code):
    assert extract_code(text, service) == code


def test_operator_patterns_win_over_built_ins():
    text = "Ref 5531. Your secret is 8-8-1-2"
    assert extract_code(text, "ot") == "5531"
    assert extract_code(text, "ot", (r"secret is (\d-\d-\d-\d)",)) == "8812"


@pytest.mark.parametrize("pattern", ["(", "(a)(b)"])
def test_bad_operator_patterns_are_refused(pattern):
    with pytest.raises(ValueError):
        compile_pattern(pattern)


def test_stored_patterns_apply_per_service_then_globally(app, seed, api):
    now = int(seed.clock())
    with db.connection():
        sms.add_pattern("tg", r"login key (\d{4})", now)
        sms.add_pattern(None, r"token (\d{4})", now)
    rental_id, phone = api.body("getNumber", service="tg").split(":")[1:]
    with db.connection():
        sms.deliver(phone, "token 1111, login key 2222", now)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:2222"
    rental_id, phone = api.body("getNumber", service="wa").split(":")[1:]
    with db.connection():
        sms.deliver(phone, "order 9999, token 3333", now)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:3333"
