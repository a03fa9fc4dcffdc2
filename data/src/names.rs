//! Plausible Chinese names for places, roads and people, and fake phone numbers.

use std::collections::BTreeSet;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

pub const CITY_PREFIX: &str = "漯河市召陵区";
pub const DISTRICT_NAME: &str = "召陵区";
pub const DISTRICT_CODE: &str = "411104";

const STREETS: [&str; 10] = [
    "天桥街道",
    "翟庄街道",
    "人民街道",
    "嵩山街道",
    "召陵镇",
    "老窝镇",
    "邓襄镇",
    "万金镇",
    "姬石镇",
    "青年镇",
];

/// North-south roads are named after mountains, east-west roads after rivers (as in Luohe).
const NS_ROADS: [&str; 30] = [
    "嵩山路",
    "太行山路",
    "泰山路",
    "华山路",
    "衡山路",
    "恒山路",
    "黄山路",
    "庐山路",
    "峨眉山路",
    "武当山路",
    "祁连山路",
    "昆仑山路",
    "天山路",
    "井冈山路",
    "五台山路",
    "普陀山路",
    "九华山路",
    "雁荡山路",
    "长白山路",
    "大别山路",
    "秦岭路",
    "伏牛山路",
    "桐柏山路",
    "王屋山路",
    "崂山路",
    "武夷山路",
    "阴山路",
    "燕山路",
    "贺兰山路",
    "六盘山路",
];
const EW_ROADS: [&str; 30] = [
    "黄河路",
    "长江路",
    "淮河路",
    "珠江路",
    "湘江路",
    "漓江路",
    "汉江路",
    "松花江路",
    "黑龙江路",
    "嫩江路",
    "辽河路",
    "海河路",
    "渭河路",
    "汾河路",
    "洛河路",
    "沙河路",
    "澧河路",
    "颍河路",
    "贾鲁河路",
    "赣江路",
    "闽江路",
    "钱塘江路",
    "岷江路",
    "嘉陵江路",
    "乌江路",
    "沱江路",
    "湄江路",
    "澜沧江路",
    "雅砻江路",
    "金沙江路",
];

const COMMUNITY_STEMS: [&str; 48] = [
    "幸福", "和平", "阳光", "新华", "东方", "金桥", "建设", "文化", "育才", "光明", "友谊", "团结",
    "春晖", "锦绣", "康宁", "福泽", "丹桂", "翠竹", "兰亭", "华庭", "紫荆", "银杏", "清风", "明月",
    "书香", "长乐", "永安", "兴业", "振华", "晨曦", "怡园", "祥和", "景苑", "瑞丰", "泰和", "嘉禾",
    "朝阳", "迎宾", "滨河", "双汇", "召南", "召北", "东城", "五里", "柳营", "天桥", "翟庄", "铁西",
];
const SURNAMES: [&str; 60] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛",
    "叶", "阎", "余", "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜",
];
const GIVEN: [&str; 64] = [
    "伟", "芳", "娜", "秀", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "兰", "霞", "平", "刚", "桂", "英", "华", "玉", "建", "国", "红", "梅", "鹏", "飞",
    "鑫", "波", "辉", "宇", "浩", "凯", "雪", "琳", "晨", "欣", "志", "新", "海", "峰", "亮", "慧",
    "振", "春", "秋", "文", "斌", "彬", "佳", "婷", "俊", "博", "瑞", "宁", "东", "晓", "永", "光",
];
const VILLAGE_SUFFIXES: [&str; 8] = ["庄", "营", "湾", "寨", "店", "楼", "岗", "屯"];

/// Street (街道 or 镇) number `k` (0-based, in code order).
pub fn street(k: usize) -> String {
    STREETS
        .get(k)
        .map_or_else(|| format!("第{}街道", k + 1), |s| (*s).to_owned())
}

/// Name of the `k`-th north-south road (west→east).
pub fn ns_road(k: usize) -> String {
    NS_ROADS
        .get(k)
        .map_or_else(|| format!("经{}路", k + 1), |s| (*s).to_owned())
}

/// Name of the `k`-th east-west road (north→south).
pub fn ew_road(k: usize) -> String {
    EW_ROADS
        .get(k)
        .map_or_else(|| format!("纬{}路", k + 1), |s| (*s).to_owned())
}

/// Draws unique community (社区) and village (村) names.
pub struct PlaceNames {
    used: BTreeSet<String>,
    stems: Vec<&'static str>,
    next_stem: usize,
}

impl PlaceNames {
    pub fn new(rng: &mut ChaCha8Rng) -> PlaceNames {
        let mut stems = COMMUNITY_STEMS.to_vec();
        stems.shuffle(rng);
        PlaceNames {
            used: BTreeSet::new(),
            stems,
            next_stem: 0,
        }
    }

    fn unique(&mut self, base: &str, suffix: &str) -> String {
        let mut name = format!("{base}{suffix}");
        let mut n = 2;
        while self.used.contains(&name) {
            name = format!("{base}{n}{suffix}");
            n += 1;
        }
        self.used.insert(name.clone());
        name
    }

    pub fn community(&mut self) -> String {
        let stem = self.stems[self.next_stem % self.stems.len()];
        self.next_stem += 1;
        self.unique(stem, "社区")
    }

    pub fn village(&mut self, rng: &mut ChaCha8Rng) -> String {
        let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
        let suffix = VILLAGE_SUFFIXES[rng.gen_range(0..VILLAGE_SUFFIXES.len())];
        self.unique(&format!("{surname}{suffix}"), "村")
    }
}

/// A plausible Chinese personal name: surname and one or two given characters.
pub fn person(rng: &mut ChaCha8Rng) -> String {
    let mut name = SURNAMES[rng.gen_range(0..SURNAMES.len())].to_owned();
    for _ in 0..rng.gen_range(1..=2) {
        name.push_str(GIVEN[rng.gen_range(0..GIVEN.len())]);
    }
    name
}

/// A fake mobile number in an 11-digit shape.
pub fn phone(rng: &mut ChaCha8Rng) -> String {
    const PREFIXES: [&str; 8] = ["138", "139", "150", "151", "158", "159", "137", "187"];
    let prefix = PREFIXES[rng.gen_range(0..PREFIXES.len())];
    format!("{prefix}{:08}", rng.gen_range(0..100_000_000u32))
}

/// Name of an exclusive grid of `kind` in the community named `community`.
pub fn exclusive(kind: gridmap_core::GridKind, community: &str, k: usize) -> String {
    use gridmap_core::GridKind as K;
    let stem = community
        .trim_end_matches("社区")
        .trim_end_matches('村')
        .to_owned();
    match kind {
        K::Market => format!("{stem}农贸市场"),
        K::IndustrialPark => format!("召陵区{stem}产业园"),
        K::School => {
            if k.is_multiple_of(2) {
                format!("{stem}小学")
            } else {
                format!("{stem}中学")
            }
        }
        K::Hospital => format!("{stem}卫生服务中心"),
        K::Enterprise => format!("{stem}食品有限公司"),
        K::Government => format!("{stem}便民服务中心"),
        _ => format!("{stem}专属网格"),
    }
}
