//! Download progress of a model: the npm package's progress events folded into what the
//! progress bar shows (per shard and in total, MB/s, time left, "from cache").

use serde::Deserialize;

/// One progress event of `Engine.load` (the npm package's `LoadProgress`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoadEvent {
    /// 'manifest', 'shard', 'verified', 'warning' or 'done'.
    pub phase: String,
    /// Bytes of all shards obtained so far.
    #[serde(default)]
    pub loaded: f64,
    /// Bytes of all shards.
    #[serde(default)]
    pub total: f64,
    /// The shard this event is about (-1 before the first).
    #[serde(default)]
    pub shard: i64,
    /// Number of shards.
    #[serde(default)]
    pub shards: usize,
    /// Bytes of this shard obtained so far.
    #[serde(default)]
    pub shard_loaded: f64,
    /// This shard's size.
    #[serde(default)]
    pub shard_total: f64,
    /// The shard's file name.
    #[serde(default)]
    pub file: String,
    /// Whether the shard came from the browser's storage.
    #[serde(default)]
    pub from_cache: bool,
    /// Whether the shard had to be fetched again after a bad sha256.
    #[serde(default)]
    pub refetched: bool,
    /// With phase 'warning': what went wrong (e.g. the storage quota).
    #[serde(default)]
    pub error: Option<EventError>,
}

/// The error attached to a 'warning' event.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct EventError {
    /// The npm package's error code ('quota', 'storage', ...).
    pub code: String,
    /// What happened.
    pub message: String,
}

/// Where one shard stands.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ShardProgress {
    /// Its file name.
    pub file: String,
    /// Bytes obtained.
    pub loaded: f64,
    /// Its size (0 until the first event about it).
    pub total: f64,
    /// Read from the browser's storage instead of the network.
    pub from_cache: bool,
    /// Fetched a second time after a bad sha256.
    pub refetched: bool,
    /// Checked and handed to the engine.
    pub verified: bool,
}

impl ShardProgress {
    /// Share obtained, 0..=1.
    pub fn fraction(&self) -> f64 {
        if self.total > 0.0 {
            (self.loaded / self.total).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Everything the progress bar shows.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DownloadProgress {
    /// Bytes obtained, network and cache together.
    pub loaded: f64,
    /// Bytes of all shards.
    pub total: f64,
    /// One entry per shard.
    pub shards: Vec<ShardProgress>,
    /// Bytes that came over the network (speed and time left count only these).
    pub network_bytes: f64,
    /// Seconds since loading started, at the last event.
    pub elapsed: f64,
    /// Seconds and network bytes at the first network event: the speed counts what came
    /// after it (the first chunk's own transfer time is unknown).
    network_started: Option<(f64, f64)>,
    /// Whether every shard is in and verified.
    pub done: bool,
    /// Storage warnings (the model still loads).
    pub warnings: Vec<String>,
}

impl DownloadProgress {
    /// Folds one event received `elapsed` seconds after loading started.
    pub fn apply(&mut self, event: &LoadEvent, elapsed: f64) {
        self.elapsed = elapsed;
        if event.total > 0.0 {
            self.total = event.total;
        }
        if event.shards > self.shards.len() {
            self.shards.resize(event.shards, ShardProgress::default());
        }
        let previous = self.loaded;
        self.loaded = event.loaded.max(0.0);
        let index = usize::try_from(event.shard)
            .ok()
            .filter(|&i| i < self.shards.len());
        match event.phase.as_str() {
            "shard" => {
                if let Some(i) = index {
                    let shard = &mut self.shards[i];
                    shard.file.clone_from(&event.file);
                    shard.loaded = event.shard_loaded;
                    shard.total = event.shard_total;
                    shard.from_cache = event.from_cache;
                    shard.refetched |= event.refetched;
                }
                if !event.from_cache && self.loaded > previous {
                    self.network_bytes += self.loaded - previous;
                    let bytes = self.network_bytes;
                    self.network_started.get_or_insert((elapsed, bytes));
                }
            }
            "verified" => {
                if let Some(i) = index {
                    let shard = &mut self.shards[i];
                    shard.verified = true;
                    shard.loaded = shard.total.max(shard.loaded);
                    shard.refetched |= event.refetched;
                }
            }
            "warning" => {
                if let Some(e) = &event.error {
                    self.warnings.push(format!("{}: {}", e.code, e.message));
                }
            }
            "done" => self.done = true,
            _ => {}
        }
    }

    /// Share of all bytes obtained, 0..=1.
    pub fn fraction(&self) -> f64 {
        if self.done {
            1.0
        } else if self.total > 0.0 {
            (self.loaded / self.total).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// Network speed in MB/s (10^6 bytes), once there is a meaningful interval.
    pub fn megabytes_per_second(&self) -> Option<f64> {
        let (start, base) = self.network_started?;
        let seconds = self.elapsed - start;
        let bytes = self.network_bytes - base;
        (seconds > 0.05 && bytes > 0.0).then(|| bytes / seconds / 1e6)
    }

    /// Seconds left at the current network speed.
    pub fn seconds_left(&self) -> Option<f64> {
        let rate = self.megabytes_per_second()? * 1e6;
        (rate > 0.0).then(|| ((self.total - self.loaded).max(0.0)) / rate)
    }

    /// Whether every shard came from the browser's storage.
    pub fn all_from_cache(&self) -> bool {
        !self.shards.is_empty() && self.shards.iter().all(|s| s.from_cache)
    }

    /// The line under the bar: "41.2 / 92.1 MB · 35.0 MB/s · 2 s left" or "loaded from cache".
    pub fn status_line(&self) -> String {
        let mb = |b: f64| b / 1e6;
        if self.done && self.all_from_cache() {
            return format!("{:.1} MB loaded from cache", mb(self.total));
        }
        let mut line = format!("{:.1} / {:.1} MB", mb(self.loaded), mb(self.total));
        if let Some(rate) = self.megabytes_per_second() {
            line.push_str(&format!(" · {rate:.1} MB/s"));
        }
        if !self.done {
            if let Some(left) = self.seconds_left() {
                line.push_str(&format!(
                    " · {} left",
                    crate::conversation::format_seconds(left)
                ));
            }
        }
        let cached = self.shards.iter().filter(|s| s.from_cache).count();
        if cached > 0 {
            line.push_str(&format!(
                " · {cached} of {} shards from cache",
                self.shards.len()
            ));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        phase: &str,
        loaded: f64,
        shard: i64,
        shard_loaded: f64,
        from_cache: bool,
    ) -> LoadEvent {
        LoadEvent {
            phase: phase.into(),
            loaded,
            total: 300.0e6,
            shard,
            shards: 3,
            shard_loaded,
            shard_total: 100.0e6,
            file: format!("shard-{shard:05}.bin"),
            from_cache,
            refetched: false,
            error: None,
        }
    }

    #[test]
    fn network_progress_gives_speed_time_left_and_per_shard_bars() {
        let mut p = DownloadProgress::default();
        p.apply(&event("shard", 10.0e6, 0, 10.0e6, false), 1.0);
        p.apply(&event("shard", 60.0e6, 0, 60.0e6, false), 2.0);
        assert!((p.fraction() - 0.2).abs() < 1e-9);
        assert!((p.shards[0].fraction() - 0.6).abs() < 1e-9);
        // 50 MB in the one second since the first network byte.
        assert!((p.megabytes_per_second().unwrap() - 50.0).abs() < 1e-6);
        assert!((p.seconds_left().unwrap() - 4.8).abs() < 1e-6);
        assert_eq!(p.status_line(), "60.0 / 300.0 MB · 50.0 MB/s · 4.80 s left");
        assert!(!p.all_from_cache());
    }

    #[test]
    fn a_warm_load_says_it_came_from_cache() {
        let mut p = DownloadProgress::default();
        for i in 0..3 {
            p.apply(
                &event("shard", (i + 1) as f64 * 100.0e6, i, 100.0e6, true),
                0.1,
            );
            p.apply(
                &event("verified", (i + 1) as f64 * 100.0e6, i, 100.0e6, true),
                0.1,
            );
        }
        p.apply(&event("done", 300.0e6, 2, 0.0, true), 0.2);
        assert!(p.done && p.all_from_cache());
        assert_eq!(p.megabytes_per_second(), None, "no network bytes");
        assert_eq!(p.status_line(), "300.0 MB loaded from cache");
        assert_eq!(p.fraction(), 1.0);
    }

    #[test]
    fn a_refetch_resets_the_total_without_counting_negative_bytes() {
        let mut p = DownloadProgress::default();
        p.apply(&event("shard", 50.0e6, 0, 50.0e6, false), 1.0);
        let mut again = event("shard", 5.0e6, 0, 5.0e6, false);
        again.refetched = true;
        p.apply(&again, 1.5);
        assert_eq!(p.network_bytes, 50.0e6);
        assert!(p.shards[0].refetched);
        assert!((p.fraction() - 5.0 / 300.0).abs() < 1e-9);
    }

    #[test]
    fn events_are_read_from_the_packages_json_and_bad_indices_ignored() {
        let e: LoadEvent = serde_json::from_str(
            r#"{"phase":"warning","loaded":1,"total":2,"shard":7,"shards":1,"file":"x","fromCache":false,
                "error":{"code":"quota","message":"storage is full"}}"#,
        )
        .unwrap();
        let mut p = DownloadProgress::default();
        p.apply(&e, 0.0);
        assert_eq!(p.warnings, vec!["quota: storage is full".to_string()]);
        let manifest: LoadEvent = serde_json::from_str(
            r#"{"phase":"manifest","loaded":0,"total":0,"shard":-1,"shards":0}"#,
        )
        .unwrap();
        p.apply(&manifest, 0.0);
        assert_eq!(p.shards.len(), 1);
    }
}
