//! What a capture turned out to be: a report, a listing, an attachment, or
//! something that must never be counted as one (an anti-bot block page, a
//! soft 404, an empty answer).
//!
//! Government sites sit behind 安全狗 / WAF layers that answer 200 with a
//! "blocked" page, 加速乐 that answers 521 with a cookie-setting script, and
//! 瑞数 that answers 412 (or 202) with obfuscated JavaScript; removed pages
//! come back as 200 saying 页面不存在, or as a redirect to the home page. Pure:
//! the decision is made from the answer alone, no I/O.

use url::Url;

/// Bytes of a body looked at: block pages and soft 404s are small.
const SCAN_BYTES: usize = 256 * 1024;
/// Visible text longer than this is a real page, whatever phrase it contains.
const SHORT_TEXT: usize = 1200;
/// Links that make a page without reports a listing.
const LISTING_LINKS: usize = 3;

/// The anti-bot layer that answered instead of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// A WAF "request blocked" page (安全狗, 云盾, 创宇盾, …).
    Waf,
    /// 加速乐-style: a script that sets a clearance cookie and reloads (often 521).
    CookieScript,
    /// 瑞数-style: obfuscated JavaScript answered with 412 or 202.
    Challenge,
    /// A captcha or slider to solve.
    Captcha,
}

/// What one capture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Report,
    Listing,
    Attachment,
    Blocked(Block),
    /// A "page not found" answered 200, or a redirect to the home page.
    Soft404,
    /// A 2xx with nothing in it.
    Empty,
    /// A redirect to another page.
    Redirect,
    /// Anything else (an image, an HTTP error page, robots.txt).
    Other,
}

impl Outcome {
    /// The name stored in `captures.outcome` and counted in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Report => "report",
            Outcome::Listing => "listing",
            Outcome::Attachment => "attachment",
            Outcome::Blocked(Block::Waf) => "block_waf",
            Outcome::Blocked(Block::CookieScript) => "block_cookie_script",
            Outcome::Blocked(Block::Challenge) => "block_challenge",
            Outcome::Blocked(Block::Captcha) => "block_captcha",
            Outcome::Soft404 => "soft_404",
            Outcome::Empty => "empty",
            Outcome::Redirect => "redirect",
            Outcome::Other => "other",
        }
    }

    /// The outcome stored under `name`.
    pub fn parse(name: &str) -> Option<Outcome> {
        ALL.iter().copied().find(|o| o.as_str() == name)
    }

    /// True for answers that stand in for a page without being it: never a
    /// report, never a new version of one, never a capture to compare with.
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            Outcome::Blocked(_) | Outcome::Soft404 | Outcome::Empty
        )
    }

    /// True for an answer from the site's content (what a source that was not
    /// blocked serves at least once).
    pub fn is_content(self) -> bool {
        matches!(
            self,
            Outcome::Report | Outcome::Listing | Outcome::Attachment
        )
    }

    /// A line for the summary and the log: "blocked by an anti-bot challenge
    /// (HTTP 412, script)".
    pub fn describe(self, status: u16) -> String {
        match self {
            Outcome::Blocked(Block::Waf) => {
                format!("blocked by a web application firewall (HTTP {status}, block page)")
            }
            Outcome::Blocked(Block::CookieScript) => {
                format!("blocked by an anti-bot challenge (HTTP {status}, script setting a cookie)")
            }
            Outcome::Blocked(Block::Challenge) => {
                format!("blocked by an anti-bot challenge (HTTP {status}, script)")
            }
            Outcome::Blocked(Block::Captcha) => {
                format!("blocked by a captcha (HTTP {status})")
            }
            Outcome::Soft404 => format!("page not found (HTTP {status}, soft 404)"),
            Outcome::Empty => format!("empty answer (HTTP {status})"),
            other => format!("{} (HTTP {status})", other.as_str()),
        }
    }
}

const ALL: [Outcome; 11] = [
    Outcome::Report,
    Outcome::Listing,
    Outcome::Attachment,
    Outcome::Blocked(Block::Waf),
    Outcome::Blocked(Block::CookieScript),
    Outcome::Blocked(Block::Challenge),
    Outcome::Blocked(Block::Captcha),
    Outcome::Soft404,
    Outcome::Empty,
    Outcome::Redirect,
    Outcome::Other,
];

/// One answer, as much of it as the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub url: &'a Url,
    pub status: u16,
    /// The target of a redirect.
    pub location: Option<&'a Url>,
    /// The body after content decoding (still in its charset).
    pub entity: &'a [u8],
    /// The decoded text, when the pipeline decoded it.
    pub text: Option<&'a str>,
    /// Reports extracted from it.
    pub reports: usize,
    /// It is a document (PDF, DOCX, spreadsheet, DOC), not a page.
    pub document: bool,
}

/// Decide what an answer is.
pub fn classify(a: &Answer<'_>) -> Outcome {
    if let Some(target) = a.location {
        return if is_soft_404_redirect(a.url, target) {
            Outcome::Soft404
        } else {
            Outcome::Redirect
        };
    }
    if a.reports > 0 {
        return Outcome::Report;
    }
    if a.document {
        return Outcome::Attachment;
    }
    let owned;
    let text = match a.text {
        Some(t) => t,
        None => {
            owned = lossy_text(a.entity);
            &owned
        }
    };
    let head = prefix(text, SCAN_BYTES);
    if let Some(block) = block_of(a.status, head) {
        return Outcome::Blocked(block);
    }
    if !(200..300).contains(&a.status) {
        return Outcome::Other;
    }
    let lower = head.to_ascii_lowercase();
    let visible = short_visible_text(head);
    if visible.as_deref().is_some_and(says_not_found) {
        return Outcome::Soft404;
    }
    if is_redirect_shell(&lower) {
        return Outcome::Redirect;
    }
    // A script may be an app shell (gkmlpt) or carry its items (Hanweb):
    // not empty.
    if visible.as_deref().is_some_and(str::is_empty)
        && !lower.contains("<a ")
        && !lower.contains("<script")
    {
        return Outcome::Empty;
    }
    if link_count(head) >= LISTING_LINKS {
        return Outcome::Listing;
    }
    Outcome::Other
}

/// What a stored exchange is: its body content-decoded, its document kind
/// told from its type and bytes, and what the pipeline read out of it.
pub fn of_exchange(
    url: &Url,
    status: u16,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    location: Option<&Url>,
    analysis: Option<&crate::pipeline::Analysis>,
) -> Outcome {
    let entity = crate::fetch::entity(headers, body, SCAN_BYTES as u64);
    let content_type = crate::fetch::header_value(headers, "content-type");
    let document = matches!(
        crate::attachment::kind_of(
            &crate::disposition::document_name(url.as_str(), headers),
            content_type.as_deref(),
            &entity
        ),
        Some(
            crate::attachment::Kind::Pdf
                | crate::attachment::Kind::Docx
                | crate::attachment::Kind::Spreadsheet
                | crate::attachment::Kind::Unconvertible
        )
    );
    classify(&Answer {
        url,
        status,
        location,
        entity: &entity,
        text: analysis
            .and_then(|a| a.decoded.as_ref())
            .map(|d| d.text.as_str()),
        reports: analysis.map_or(0, |a| a.reports.len()),
        document,
    })
}

/// A redirect from a page to its site's home page: what sites answer for a
/// page they removed.
pub fn is_soft_404_redirect(from: &Url, to: &Url) -> bool {
    is_home(to) && !is_home(from) && same_site(from, to)
}

/// Whether an answer is an anti-bot challenge without looking at extracted
/// reports: a 521 from 加速乐 is then archived as what it is instead of
/// being retried as a server error.
pub fn challenge_of(status: u16, entity: &[u8]) -> Option<Block> {
    block_of(status, prefix(&lossy_text(entity), SCAN_BYTES))
}

fn block_of(status: u16, text: &str) -> Option<Block> {
    let lower = text.to_ascii_lowercase();
    let visible = short_visible_text(text);
    let short = visible.is_some();
    let has_script = lower.contains("<script");
    if lower.contains("__jsl_clearance") || lower.contains("__jsluid") {
        return Some(Block::CookieScript);
    }
    if status == 521 && has_script && lower.contains("document.cookie") {
        return Some(Block::CookieScript);
    }
    if (status == 412 || status == 202) && has_script && short {
        return Some(Block::Challenge);
    }
    if (lower.contains("$_ts") && lower.contains("$_ts.nsd")) || lower.contains("$_ts=window") {
        return Some(Block::Challenge);
    }
    let visible = visible?;
    const WAF: [&str; 14] = [
        "安全狗",
        "safedog",
        "网站防火墙",
        "web应用防火墙",
        "访问被拦截",
        "请求被拦截",
        "已被拦截",
        "拦截了您的",
        "疑似黑客攻击",
        "不合法参数",
        "您的访问被阻断",
        "request blocked",
        "access denied by waf",
        "创宇盾",
    ];
    let lower_visible = visible.to_lowercase();
    if WAF
        .iter()
        .any(|w| lower_visible.contains(w) || lower.contains(w))
    {
        return Some(Block::Waf);
    }
    const CAPTCHA: [&str; 7] = [
        "请输入验证码",
        "输入验证码",
        "人机验证",
        "滑动验证",
        "安全验证",
        "captcha",
        "拖动滑块",
    ];
    if CAPTCHA
        .iter()
        .any(|w| lower_visible.contains(w) || lower.contains(w))
    {
        return Some(Block::Captcha);
    }
    None
}

/// A tiny page whose only job is to send the browser on (`<meta refresh>`,
/// `location.replace(…)`): an entry page, not empty.
fn is_redirect_shell(lower: &str) -> bool {
    lower.len() < 4096
        && (lower.contains("http-equiv=\"refresh\"")
            || lower.contains("http-equiv='refresh'")
            || lower.contains("http-equiv=refresh")
            || lower.contains("location.replace(")
            || lower.contains("location.href")
            || lower.contains("window.location"))
}

fn says_not_found(visible: &str) -> bool {
    const PHRASES: [&str; 12] = [
        "页面不存在",
        "您访问的页面不存在",
        "网页不存在",
        "页面未找到",
        "找不到页面",
        "找不到该页面",
        "页面已删除",
        "信息不存在",
        "文章不存在",
        "内容不存在",
        "该页面已被删除",
        "404 not found",
    ];
    let lower = visible.to_lowercase();
    PHRASES.iter().any(|p| lower.contains(p)) || lower.trim() == "404"
}

/// A home page: the root, or an index document at the root.
fn is_home(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    let name = path.trim_start_matches('/');
    url.query().is_none()
        && (name.is_empty()
            || matches!(
                name.rsplit_once('.').map(|(stem, _)| stem),
                Some("index" | "default" | "main" | "home")
            ) && !name.contains('/'))
}

/// Same registrable site, roughly: `www.` and no `www.` are one site.
fn same_site(a: &Url, b: &Url) -> bool {
    let host = |u: &Url| {
        u.host_str()
            .unwrap_or_default()
            .trim_start_matches("www.")
            .to_ascii_lowercase()
    };
    host(a) == host(b)
}

fn lossy_text(entity: &[u8]) -> String {
    let head = entity.get(..SCAN_BYTES.min(entity.len())).unwrap_or(entity);
    match std::str::from_utf8(head) {
        Ok(t) => t.to_string(),
        // Most of these pages are GBK; a cut in the middle of a character
        // costs one replacement character.
        Err(_) => encoding_rs::GB18030.decode(head).0.into_owned(),
    }
}

fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// The text a reader sees: tags, scripts, styles and comments left out.
/// The visible text of a page, whitespace collapsed, when it is short (at
/// most [`SHORT_TEXT`] characters): block pages, soft 404s and empty pages
/// are short, and a long page is known to be long after its first screen,
/// without reading the rest.
fn short_visible_text(html: &str) -> Option<String> {
    let mut out = Visible::default();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push(rest.get(..lt).unwrap_or_default())?;
        rest = rest.get(lt..).unwrap_or_default();
        let lower: String = rest
            .chars()
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let close = if lower.starts_with("<!--") {
            "-->"
        } else if lower.starts_with("<script") {
            "</script"
        } else if lower.starts_with("<style") {
            "</style"
        } else {
            ">"
        };
        match find_ascii_ci(rest, close) {
            Some(i) => {
                let skip = i + close.len();
                rest = rest.get(skip..).unwrap_or_default();
                if close.starts_with("</") {
                    // Skip the rest of a closing tag.
                    if let Some(gt) = rest.find('>') {
                        rest = rest.get(gt + 1..).unwrap_or_default();
                    }
                }
            }
            None => {
                rest = "";
            }
        }
        out.push(" ")?;
    }
    out.push(rest)?;
    Some(out.text.trim_end().to_string())
}

/// Visible text being collected, whitespace collapsed as it comes.
#[derive(Default)]
struct Visible {
    text: String,
    chars: usize,
    /// The last character pushed was whitespace (or nothing was yet).
    blank: bool,
}

impl Visible {
    /// `None` once the text is longer than [`SHORT_TEXT`].
    fn push(&mut self, piece: &str) -> Option<()> {
        for c in piece.chars() {
            if c.is_whitespace() {
                self.blank = true;
                continue;
            }
            if self.blank && !self.text.is_empty() {
                self.text.push(' ');
                self.chars += 1;
            }
            self.blank = false;
            self.text.push(c);
            self.chars += 1;
            if self.chars > SHORT_TEXT {
                return None;
            }
        }
        Some(())
    }
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| {
        h.get(i..i + n.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(n))
    })
}

fn link_count(html: &str) -> usize {
    memchr::memmem::find_iter(html.as_bytes(), b"href=").count()
        + memchr::memmem::find_iter(html.as_bytes(), b"HREF=").count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer<'a>(url: &'a Url, status: u16, body: &'a str) -> Answer<'a> {
        Answer {
            url,
            status,
            location: None,
            entity: body.as_bytes(),
            text: None,
            reports: 0,
            document: false,
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn block_pages_of_each_kind() {
        let u = url("http://a.gov.cn/art/2024/3/8/art_1_2.html");
        let safedog = "<html><head><title>网站防火墙</title></head><body><h3>您的请求带有不合法参数，已被网站管理员设置拦截！</h3><p>可能原因：您提交的内容包含危险的攻击请求</p><p>安全狗</p></body></html>";
        assert_eq!(
            classify(&answer(&u, 200, safedog)),
            Outcome::Blocked(Block::Waf)
        );
        let jsl = "<script>document.cookie=('_')+('_j')+('sl_clearance')+('=1700000000.123|0|abc');location.href=location.pathname+location.search</script>";
        assert_eq!(
            classify(&answer(&u, 521, jsl)),
            Outcome::Blocked(Block::CookieScript)
        );
        let rivers = "<html><head><meta content=\"{qqqqq.x}\" r='m'><script type=\"text/javascript\" r='m'>$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=84810;</script><script src=\"/abc.js\"></script></head><body></body></html>";
        assert_eq!(
            classify(&answer(&u, 412, rivers)),
            Outcome::Blocked(Block::Challenge)
        );
        assert_eq!(
            classify(&answer(&u, 202, "<script src=\"/x.js\"></script>")),
            Outcome::Blocked(Block::Challenge)
        );
        let captcha = "<html><body><form>请输入验证码：<img src=\"/captcha.jpg\"><input name=\"code\"></form></body></html>";
        assert_eq!(
            classify(&answer(&u, 200, captcha)),
            Outcome::Blocked(Block::Captcha)
        );
    }

    #[test]
    fn soft_404_both_ways() {
        let u = url("http://a.gov.cn/col/col1/art_9.html");
        let page = "<html><body><div class=\"err\">对不起，您访问的页面不存在或已被删除！</div><a href=\"/\">返回首页</a></body></html>";
        assert_eq!(classify(&answer(&u, 200, page)), Outcome::Soft404);
        let home = url("http://www.a.gov.cn/index.html");
        let mut a = answer(&u, 302, "");
        a.location = Some(&home);
        assert_eq!(classify(&a), Outcome::Soft404);
        let other = url("http://a.gov.cn/col/col1/art_10.html");
        a.location = Some(&other);
        assert_eq!(classify(&a), Outcome::Redirect);
        // The home page redirecting to its index document is no soft 404.
        let root = url("http://a.gov.cn/");
        let mut b = answer(&root, 302, "");
        b.location = Some(&home);
        assert_eq!(classify(&b), Outcome::Redirect);
    }

    #[test]
    fn content_is_not_mistaken_for_a_refusal() {
        let u = url("http://a.gov.cn/nb/");
        let listing = "<ul><li><a href=\"1.html\">2021年年报</a></li><li><a href=\"2.html\">2022年年报</a></li><li><a href=\"3.html\">2023年年报</a></li></ul>";
        assert_eq!(classify(&answer(&u, 200, listing)), Outcome::Listing);
        let mut report = answer(&u, 200, "<p>安全狗</p>");
        report.reports = 1;
        assert_eq!(classify(&report), Outcome::Report);
        assert_eq!(
            classify(&answer(&u, 200, "  <html><body> </body></html>")),
            Outcome::Empty
        );
        assert_eq!(classify(&answer(&u, 200, "")), Outcome::Empty);
        let long = format!("<p>{}页面不存在</p>", "政府信息公开".repeat(400));
        assert_eq!(classify(&answer(&u, 200, &long)), Outcome::Other);
        assert_eq!(classify(&answer(&u, 404, "not found")), Outcome::Other);
        let mut doc = answer(&u, 200, "%PDF-1.4");
        doc.document = true;
        assert_eq!(classify(&doc), Outcome::Attachment);
    }

    #[test]
    fn shells_are_not_empty() {
        let u = url("http://a.gov.cn/xxgk/");
        let meta = "<html><head><meta http-equiv=\"refresh\" content=\"0; url=./zfxxgknb/\"></head><body></body></html>";
        assert_eq!(classify(&answer(&u, 200, meta)), Outcome::Redirect);
        let app = "<html><body><div id=\"app\"></div><script>window._CONFIG = {SID: 1}</script></body></html>";
        assert_eq!(classify(&answer(&u, 200, app)), Outcome::Other);
        let commented = "<!-- x --><p>对不起，页面不存在</p>";
        assert_eq!(classify(&answer(&u, 200, commented)), Outcome::Soft404);
    }

    #[test]
    fn names_round_trip() {
        for o in ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(
            Outcome::Blocked(Block::Challenge).describe(412),
            "blocked by an anti-bot challenge (HTTP 412, script)"
        );
    }
}
