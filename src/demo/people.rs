//! Synthetic names, phone numbers and categories for the demo. Fictional by construction: phone
//! numbers all fall in the 199-0000 block, and no name is taken from a real register.

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "魏", "苏", "吕", "丁", "任",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "英", "华", "慧", "建", "国", "平", "红", "文", "辉", "玲", "桂", "兰", "志", "林",
    "刚", "海", "云", "凤", "德", "福", "荣", "春", "忠", "琴", "燕", "波", "鹏", "江", "茂", "菊",
];

pub fn name(rng: &mut ChaCha8Rng) -> String {
    let surname = SURNAMES.choose(rng).copied().unwrap_or("王");
    let first = GIVEN.choose(rng).copied().unwrap_or("明");
    if rng.random_bool(0.25) {
        return format!("{surname}{first}");
    }
    let second = GIVEN.choose(rng).copied().unwrap_or("华");
    format!("{surname}{first}{second}")
}

/// A household's mobile number, in the fictional 199-01xx-xxxx block.
pub fn household_mobile(rng: &mut ChaCha8Rng) -> String {
    format!("19901{:06}", rng.random_range(0..1_000_000))
}

/// Distinct mobile numbers for grid staff, in the fictional 199-0000-xxxx block (no two staff
/// share one, so a test can tell a published phone from an unpublished one).
pub fn staff_mobiles(rng: &mut ChaCha8Rng, count: usize) -> Vec<String> {
    let mut numbers: Vec<u32> = (0..10_000).collect();
    numbers.shuffle(rng);
    numbers
        .into_iter()
        .take(count)
        .map(|n| format!("1990000{n:04}"))
        .collect()
}

/// Household categories with their rough frequencies; some are sensitive (DESIGN.md §1), which
/// is why the demo has them: privacy tests need something to protect.
pub fn household_categories(rng: &mut ChaCha8Rng, urban: bool) -> Vec<&'static str> {
    let mut categories = vec![if urban && rng.random_bool(0.12) {
        "流动人口"
    } else {
        "常住"
    }];
    for (category, p) in [
        ("空巢老人", if urban { 0.04 } else { 0.10 }),
        ("低保", 0.03),
        ("残疾", 0.02),
        ("困难家庭", 0.02),
        ("社区矫正", 0.003),
        ("刑释人员", 0.003),
    ] {
        if rng.random_bool(p) {
            categories.push(category);
        }
    }
    categories
}

/// A synthetic portrait: a head-and-shoulders silhouette on a coloured disc with the surname,
/// so demo cards and posters show what a real photo would look like in place.
pub fn portrait_svg(name: &str, seed: usize) -> String {
    const BACKGROUNDS: [&str; 6] = [
        "#d9e7f5", "#f5e0d3", "#dcefd8", "#eadcf2", "#f6ecc8", "#d6ecec",
    ];
    const CLOTHES: [&str; 4] = ["#33506e", "#5b4636", "#2f5d50", "#6b3b4b"];
    let background = BACKGROUNDS[seed % BACKGROUNDS.len()];
    let clothes = CLOTHES[seed / 7 % CLOTHES.len()];
    let surname: String = name.chars().take(1).collect();
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120"><rect width="120" height="120" fill="{background}"/><circle cx="60" cy="48" r="22" fill="#e9c7a8"/><path d="M24 120c0-26 16-40 36-40s36 14 36 40z" fill="{clothes}"/><path d="M38 44c0-16 10-24 22-24s22 8 22 24c-6-8-14-10-22-10s-16 2-22 10z" fill="#2b2320"/><text x="104" y="112" font-size="16" text-anchor="end" fill="#fff" font-family="Noto Sans CJK SC">{surname}</text></svg>"##
    )
}
