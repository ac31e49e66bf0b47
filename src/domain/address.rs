//! Door-plate addresses (门牌) as villages really write them: full-width digits, 號 for 号, spaces,
//! "第4组" or "四组" for "4组". Normalising both sides lets a household row without coordinates
//! find its building (户进房).

/// The canonical form of an address: half-width ASCII digits and letters, no spaces or
/// punctuation, traditional 號/棟 as 号/栋, 第N组 → N组, Chinese numerals before a unit word
/// (组/号/栋/幢/单元/楼/室/队/巷/弄) as digits.
///
/// ```
/// use gridmap::domain::address::normalise;
/// assert_eq!(normalise("湄江街道 第４组 １２號"), "湄江街道4组12号");
/// assert_eq!(normalise("马义村四组十二号"), "马义村4组12号");
/// assert_eq!(normalise("马义村二十一组3号"), "马义村21组3号");
/// ```
pub fn normalise(address: &str) -> String {
    let mut text = String::with_capacity(address.len());
    for c in address.chars() {
        let c = match c {
            // Full-width ASCII → half-width.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '號' => '号',
            '棟' => '栋',
            '單' => '单',
            '樓' => '楼',
            '組' => '组',
            '〇' => '零',
            c => c,
        };
        if c.is_whitespace()
            || matches!(
                c,
                ',' | '，' | '、' | '.' | '。' | '-' | '—' | '－' | '(' | ')' | '（' | '）' | '#'
            )
        {
            continue;
        }
        text.push(c.to_ascii_uppercase());
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        // 第 before a number and a unit word is dropped: 第4组 = 4组.
        if chars[i] == '第' {
            let digits = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || chinese_digit(**c).is_some())
                .count();
            if digits > 0 && chars.get(i + 1 + digits).is_some_and(|c| is_unit(*c)) {
                i += 1;
                continue;
            }
        }
        // A run of Chinese numerals followed by a unit word becomes digits.
        let run = chars[i..]
            .iter()
            .take_while(|c| chinese_digit(**c).is_some())
            .count();
        if run > 0
            && chars.get(i + run).is_some_and(|c| is_unit(*c))
            && let Some(n) = chinese_number(&chars[i..i + run])
        {
            out.push_str(&n.to_string());
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    // Leading zeros of numbers: 04组 = 4组.
    strip_leading_zeros(&out)
}

/// The address up to and including its house number (the last 号): what identifies a building.
/// A household's "12号附1" or "12号3单元201室" keys to the building "12号".
pub fn building_key(address: &str) -> Option<String> {
    let n = normalise(address);
    let end = n.rfind('号')?;
    Some(n[..end + '号'.len_utf8()].to_string())
}

fn is_unit(c: char) -> bool {
    matches!(
        c,
        '组' | '号' | '栋' | '幢' | '单' | '楼' | '室' | '队' | '巷' | '弄' | '排' | '层'
    )
}

fn chinese_digit(c: char) -> Option<u32> {
    Some(match c {
        '零' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        '十' => 10,
        '百' => 100,
        _ => return None,
    })
}

/// 十二 → 12, 二十一 → 21, 一百零五 → 105, 三 → 3; digit strings like 一二 → 12.
fn chinese_number(chars: &[char]) -> Option<u32> {
    let values: Vec<u32> = chars
        .iter()
        .map(|c| chinese_digit(*c))
        .collect::<Option<_>>()?;
    if !values.iter().any(|v| *v >= 10) {
        // Read digit by digit.
        return values
            .iter()
            .try_fold(0u32, |acc, v| acc.checked_mul(10)?.checked_add(*v));
    }
    let mut total = 0;
    let mut current = 0;
    for v in values {
        match v {
            10 | 100 => {
                total += current.max(1) * v;
                current = 0;
            }
            d => current = d,
        }
    }
    Some(total + current)
}

fn strip_leading_zeros(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_digit = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c == '0' && !previous_digit && next_digit {
            continue;
        }
        previous_digit = c.is_ascii_digit();
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ways_villages_write_one_door_plate_agree() {
        let canonical = normalise("湄潭县永兴镇马义村4组12号");
        for variant in [
            "湄潭县永兴镇马义村第4组12号",
            "湄潭县永兴镇马义村４组１２号",
            "湄潭县永兴镇马义村 4 组 12 號",
            "湄潭县永兴镇马义村四组十二号",
            "湄潭县永兴镇马义村第四组12号",
            "湄潭县永兴镇马义村04组12号",
        ] {
            assert_eq!(normalise(variant), canonical, "{variant}");
        }
        assert_ne!(normalise("马义村4组12号"), normalise("马义村4组13号"));
        assert_ne!(normalise("马义村14组2号"), normalise("马义村4组12号"));
    }

    #[test]
    fn a_household_keys_to_its_building() {
        assert_eq!(
            building_key("湄潭县永兴镇马义村4组1号附2"),
            Some("湄潭县永兴镇马义村4组1号".into())
        );
        assert_eq!(
            building_key("茶城社区 第２栋 ３单元 ２０１室（12号）"),
            Some("茶城社区2栋3单元201室12号".into())
        );
        assert_eq!(building_key("没有门牌的地方"), None);
        // Place names containing numerals stay as written.
        assert_eq!(normalise("七星社区"), "七星社区");
        assert_eq!(normalise("一百零五号"), "105号");
    }
}
