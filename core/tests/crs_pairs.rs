//! GCJ-02 / BD-09 conversions against pairs produced by an independent implementation (see the fixture's header).

use geo_types::{Coord, coord};
use gridmap_core::Crs;
use gridmap_core::geodesy::distance_m;

struct Pair {
    place: String,
    wgs: Coord<f64>,
    gcj: Coord<f64>,
    bd: Option<Coord<f64>>,
}

fn pairs() -> Vec<Pair> {
    let text = include_str!("fixtures/crs_pairs.csv");
    let rows: Vec<Pair> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("place"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().expect("number");
            Pair {
                place: f[0].to_owned(),
                wgs: coord! { x: n(1), y: n(2) },
                gcj: coord! { x: n(3), y: n(4) },
                bd: (!f[5].is_empty()).then(|| coord! { x: n(5), y: n(6) }),
            }
        })
        .collect();
    assert_eq!(rows.len(), 26, "fixture rows");
    rows
}

#[test]
fn forward_conversions_match_the_reference_package() {
    for p in pairs() {
        let gcj = Crs::Gcj02.from_wgs84(p.wgs);
        assert!(
            (gcj.x - p.gcj.x).abs() < 1e-6 && (gcj.y - p.gcj.y).abs() < 1e-6,
            "{}: {gcj:?} vs {:?}",
            p.place,
            p.gcj
        );
        if let Some(bd) = p.bd {
            let ours = Crs::Bd09.from_wgs84(p.wgs);
            assert!(
                (ours.x - bd.x).abs() < 1e-6 && (ours.y - bd.y).abs() < 1e-6,
                "{}: {ours:?} vs {bd:?}",
                p.place
            );
        }
    }
}

#[test]
fn inverse_conversions_recover_wgs84_within_half_a_metre() {
    let mut worst_m = 0.0f64;
    for p in pairs() {
        let from_gcj = Crs::Gcj02.to_wgs84(p.gcj);
        worst_m = worst_m.max(distance_m(from_gcj, p.wgs));
        if let Some(bd) = p.bd {
            worst_m = worst_m.max(distance_m(Crs::Bd09.to_wgs84(bd), p.wgs));
        }
    }
    // The reference forward values carry ~1e-15 deg of rounding; our iteration stops below 1e-10 deg.
    assert!(worst_m < 0.5, "worst inverse error {worst_m} m");
    assert!(
        worst_m < 1e-3,
        "iteration should be far better than required: {worst_m} m"
    );
}

#[test]
fn outside_china_is_identity_and_round_trips_hold() {
    for p in pairs().iter().filter(|p| p.bd.is_none()) {
        assert_eq!(p.gcj, p.wgs, "reference says identity at {}", p.place);
        assert_eq!(Crs::Gcj02.from_wgs84(p.wgs), p.wgs);
        assert_eq!(Crs::Bd09.to_wgs84(p.wgs), p.wgs);
    }
    // Round trips on a lattice over eastern China.
    for i in 0..40 {
        for j in 0..40 {
            let w = coord! { x: 100.0 + f64::from(i) * 0.9, y: 18.0 + f64::from(j) * 0.8 };
            for crs in [Crs::Gcj02, Crs::Bd09] {
                let back = crs.to_wgs84(crs.from_wgs84(w));
                assert!(
                    (back.x - w.x).abs() < 1e-9 && (back.y - w.y).abs() < 1e-9,
                    "{crs:?} {w:?} -> {back:?}"
                );
            }
        }
    }
    // The GCJ-02 offset near Luohe is several hundred metres, so a no-op conversion would fail the tests above.
    let luohe = coord! { x: 114.09, y: 33.57 };
    assert!(distance_m(luohe, Crs::Gcj02.from_wgs84(luohe)) > 100.0);
}
