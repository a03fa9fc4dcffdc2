//! Address search on a handmade list where the right answer is obvious to a reader.

use geo_types::Point;
use gridmap_core::{Address, AddressIndex};

const LIST: [(&str, &str, &str, &str); 11] = [
    ("漯河市召陵区黄河路128号", "黄河路", "128", ""),
    ("漯河市召陵区黄河路128号3号楼", "黄河路", "128", "3号楼"),
    ("漯河市召陵区黄河路12号", "黄河路", "12", ""),
    ("漯河市召陵区黄河路28号", "黄河路", "28", ""),
    ("漯河市召陵区长江路128号", "长江路", "128", ""),
    ("漯河市召陵区黄河东路6号", "黄河东路", "6", ""),
    ("漯河市召陵区嵩山路56号2号楼", "嵩山路", "56", "2号楼"),
    ("漯河市源汇区人民路8号", "人民路", "8", ""),
    ("漯河市召陵区黄河路1280号", "黄河路", "1280", ""),
    ("漯河市召陵区黄河路128号5号楼", "黄河路", "128", "5号楼"),
    ("漯河市召陵区太行山路3号", "太行山路", "3", ""),
];

fn index() -> AddressIndex {
    let addresses: Vec<Address> = LIST
        .iter()
        .enumerate()
        .map(|(i, (full, road, number, building))| Address {
            full: (*full).to_owned(),
            road: (*road).to_owned(),
            number: (*number).to_owned(),
            building: (*building).to_owned(),
            point: Point::new(114.0 + i as f64 * 0.001, 33.5),
        })
        .collect();
    AddressIndex::build(&addresses)
}

fn top(index: &AddressIndex, q: &str, n: usize) -> Vec<usize> {
    index.search(q, n).into_iter().map(|m| m.address).collect()
}

#[test]
fn exact_and_partial_queries_find_the_doorplate() {
    let index = index();
    // Road + number, in several spellings: the three 黄河路128号 entries first, the bare one on top.
    for q in [
        "黄河路128号",
        "黄河路１２８",
        "黄河路 128 号",
        "黄河128号",
        "召陵区黄河路128",
    ] {
        let found = top(&index, q, 3);
        assert_eq!(found[0], 0, "{q}: {found:?}");
        let mut set = found.clone();
        set.sort_unstable();
        assert_eq!(set, vec![0, 1, 9], "{q}: {found:?}");
    }
}

#[test]
fn building_and_extra_characters_pick_the_building() {
    let index = index();
    for q in [
        "漯河市召陵区黄河路128号3号楼",
        "黄河路128号3号楼",
        "河南省漯河市召陵区黄河路128号3号楼301室",
        "黄河路128-3号楼",
    ] {
        assert_eq!(top(&index, q, 1), vec![1], "{q}");
    }
    assert_eq!(top(&index, "黄河路128号5号楼", 1), vec![9]);
}

#[test]
fn numbers_match_whole_and_roads_are_told_apart() {
    let index = index();
    assert_eq!(top(&index, "黄河路1280号", 1), vec![8]);
    assert_eq!(top(&index, "黄河路12号", 1), vec![2]);
    assert_eq!(top(&index, "黄河路28", 1), vec![3]);
    assert_eq!(top(&index, "长江路128", 1), vec![4]);
    assert_eq!(top(&index, "嵩山路５６号", 1), vec![6]);
    assert_eq!(top(&index, "人民路８号", 1), vec![7]);
    assert_eq!(top(&index, "太行山路", 1), vec![10]);
    assert_eq!(top(&index, "黄河东路", 1), vec![5]);
    let scores: Vec<f32> = index
        .search("黄河路128号", 11)
        .iter()
        .map(|m| m.score)
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]) && scores.iter().all(|s| (0.0..=1.0).contains(s))
    );
}

#[test]
fn nothing_to_match_gives_nothing() {
    let index = index();
    assert!(index.search("", 5).is_empty());
    assert!(index.search("，。 ", 5).is_empty());
    assert!(index.search("北京市朝阳区", 5).is_empty());
    assert_eq!(index.search("黄河路", 2).len(), 2);
}
