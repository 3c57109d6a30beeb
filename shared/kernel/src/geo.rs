//! Geotags: a point on Earth in micro-degrees, so it compares and hashes exactly.

use serde::{Deserialize, Serialize};

/// Latitude and longitude in millionths of a degree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GeoPoint {
    lat_e6: i32,
    lon_e6: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeoPointError {
    #[error("latitude must be within -90..=90 degrees")]
    Latitude,
    #[error("longitude must be within -180..=180 degrees")]
    Longitude,
}

impl GeoPoint {
    pub fn new(lat_e6: i32, lon_e6: i32) -> Result<Self, GeoPointError> {
        if !(-90_000_000..=90_000_000).contains(&lat_e6) {
            return Err(GeoPointError::Latitude);
        }
        if !(-180_000_000..=180_000_000).contains(&lon_e6) {
            return Err(GeoPointError::Longitude);
        }
        Ok(GeoPoint { lat_e6, lon_e6 })
    }

    pub const fn lat_e6(self) -> i32 {
        self.lat_e6
    }

    pub const fn lon_e6(self) -> i32 {
        self.lon_e6
    }

    /// Great-circle distance in whole kilometres (haversine on a 6,371 km sphere). Routing compares distances,
    /// so the float here never reaches money or storage.
    pub fn distance_km(self, other: GeoPoint) -> u32 {
        let to_rad = |e6: i32| f64::from(e6) / 1e6_f64 * std::f64::consts::PI / 180.0;
        let (la1, lo1, la2, lo2) = (
            to_rad(self.lat_e6),
            to_rad(self.lon_e6),
            to_rad(other.lat_e6),
            to_rad(other.lon_e6),
        );
        let a = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
        (2.0 * 6371.0 * a.sqrt().asin()).round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jakarta_to_surabaya_is_about_660_km() {
        let jakarta = GeoPoint::new(-6_200_000, 106_816_666).unwrap();
        let surabaya = GeoPoint::new(-7_250_000, 112_750_000).unwrap();
        let d = jakarta.distance_km(surabaya);
        assert!((650..=670).contains(&d), "{d}");
    }

    #[test]
    fn out_of_range_coordinates_are_refused() {
        assert_eq!(GeoPoint::new(91_000_000, 0), Err(GeoPointError::Latitude));
        assert_eq!(GeoPoint::new(0, -181_000_000), Err(GeoPointError::Longitude));
    }
}
