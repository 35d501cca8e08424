//! The scheduler's memory: a queue per host, filled from the frontier a few
//! entries at a time, and the hosts waiting for their turn.
//!
//! A host is in exactly one of four places: `ready` (may be asked now),
//! `timers` (may be asked at a known instant), busy (a visit holds it, until
//! its answer is in), or idle (nothing due). Events move it: a visit let it
//! go or ended, an interval elapsed, a retry came due, new links arrived.
//! Nothing here looks at the whole frontier; the frontier on disk stays the
//! source of truth for a resume.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use crate::frontier::{Item, Kind};

/// Entries taken from the frontier at once for one host, and the most a
/// host's queue holds in memory (the rest waits on disk).
pub(super) const BATCH: usize = 32;

#[derive(Debug, Default)]
struct HostQueue {
    /// Reports and attachments: archived before the next listing page.
    first: VecDeque<Item>,
    listings: VecDeque<Item>,
    /// The frontier may hold due entries of this host that are not queued.
    more: bool,
    /// In `ready` or `timers`.
    scheduled: bool,
    busy: bool,
}

impl HostQueue {
    fn len(&self) -> usize {
        self.first.len() + self.listings.len()
    }

    fn has_work(&self) -> bool {
        self.more || self.len() > 0
    }
}

#[derive(Debug, Default)]
pub(super) struct Queues {
    hosts: HashMap<String, HostQueue>,
    /// Hosts that may be asked now, in turn (round-robin).
    ready: VecDeque<String>,
    timers: BinaryHeap<Reverse<(Instant, String)>>,
    /// URLs queued or in flight: never queued twice.
    held: HashSet<String>,
    /// Visits that let their host go and have not ended: their answers are
    /// being archived and read.
    reading: usize,
}

impl Queues {
    /// A host with entries on disk: due at `at`, or now.
    pub fn add_host(&mut self, host: String, at: Option<Instant>) {
        self.hosts.entry(host.clone()).or_default().more = true;
        self.wake(&host, at);
    }

    /// Look at `host` now (`None`) or at an instant; a busy host is looked
    /// at when its visit ends.
    pub fn wake(&mut self, host: &str, at: Option<Instant>) {
        let Some(q) = self.hosts.get_mut(host) else {
            return;
        };
        if q.busy || !q.has_work() {
            return;
        }
        match at {
            Some(at) if at > Instant::now() => self.timers.push(Reverse((at, host.to_string()))),
            _ if q.scheduled => return,
            _ => self.ready.push_back(host.to_string()),
        }
        q.scheduled = true;
    }

    /// The frontier holds more due entries of `host` (a retry, a link that
    /// came within the depth cap).
    pub fn more_on_disk(&mut self, host: &str, at: Option<Instant>) {
        self.hosts.entry(host.to_string()).or_default().more = true;
        self.wake(host, at);
    }

    /// A new frontier entry: queued in memory while its host's queue has
    /// room, else left on disk for a later refill.
    pub fn push(&mut self, item: Item) {
        if self.held.contains(&item.url) {
            return;
        }
        let host = item.host.clone();
        let q = self.hosts.entry(host.clone()).or_default();
        if q.len() >= BATCH {
            q.more = true;
        } else {
            self.held.insert(item.url.clone());
            match item.kind {
                Kind::Listing => q.listings.push_back(item),
                Kind::Report | Kind::Attachment => q.first.push_back(item),
            }
        }
        self.wake(&host, None);
    }

    /// The next host to look at: the first ready one, after moving the
    /// timers that are due into `ready`.
    pub fn next_host(&mut self, now: Instant) -> Option<String> {
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, host))) = self.timers.pop() {
                self.ready.push_back(host);
            }
        }
        let host = self.ready.pop_front()?;
        if let Some(q) = self.hosts.get_mut(&host) {
            q.scheduled = false;
        }
        Some(host)
    }

    /// The earliest timer, if any; `Some(now)`-like when hosts are ready.
    pub fn next_wake(&self) -> Option<Instant> {
        if !self.ready.is_empty() {
            return Some(Instant::now());
        }
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// True when the host's queue is empty but the frontier may hold more.
    pub fn needs_refill(&self, host: &str) -> bool {
        self.hosts.get(host).is_some_and(|q| q.len() == 0 && q.more)
    }

    /// Entries read from the frontier for `host`; `complete` when the read
    /// found fewer than it asked for (nothing more is due on disk now).
    pub fn refilled(&mut self, host: &str, items: Vec<Item>, complete: bool) {
        if let Some(q) = self.hosts.get_mut(host) {
            q.more = !complete;
        }
        for item in items {
            self.push(item);
        }
    }

    /// The next entry of `host` that `open` accepts; entries it refuses (a
    /// source at its page cap) are dropped from memory and stay on disk.
    pub fn pop(&mut self, host: &str, open: impl Fn(&Item) -> bool) -> Option<Item> {
        let q = self.hosts.get_mut(host)?;
        while let Some(item) = q.first.pop_front().or_else(|| q.listings.pop_front()) {
            if open(&item) {
                return Some(item);
            }
            self.held.remove(&item.url);
        }
        None
    }

    /// Put back an entry that could not start (the host was not free).
    pub fn unpop(&mut self, item: Item) {
        if let Some(q) = self.hosts.get_mut(&item.host) {
            match item.kind {
                Kind::Listing => q.listings.push_front(item),
                Kind::Report | Kind::Attachment => q.first.push_front(item),
            }
        }
    }

    /// Put back, first in its host's queue, an entry whose visit ended
    /// before asking for it; the host is looked at again at `free_at`.
    pub fn requeue(&mut self, item: Item, free_at: Option<Instant>) {
        let host = item.host.clone();
        self.held.insert(item.url.clone());
        self.unpop(item);
        self.wake(&host, free_at);
    }

    pub fn started(&mut self, host: &str) {
        if let Some(q) = self.hosts.get_mut(host) {
            q.busy = true;
        }
    }

    /// A visit let its host go before it ended (its answer is in); the
    /// host is looked at again at `free_at`, while the visit goes on.
    pub fn released(&mut self, host: &str, free_at: Option<Instant>) {
        self.reading += 1;
        self.free(host, free_at);
    }

    fn free(&mut self, host: &str, free_at: Option<Instant>) {
        if let Some(q) = self.hosts.get_mut(host) {
            q.busy = false;
        }
        self.wake(host, free_at);
    }

    /// A visit ended; the host is looked at again at `free_at`. A visit
    /// that `released` its host earlier leaves it as it is now: maybe held
    /// by the next visit.
    pub fn finished(&mut self, host: &str, url: &str, free_at: Option<Instant>, released: bool) {
        self.held.remove(url);
        if released {
            self.reading = self.reading.saturating_sub(1);
            self.wake(host, free_at);
        } else {
            self.free(host, free_at);
        }
    }

    /// Visits that let their host go and are still archiving and reading
    /// its answer.
    pub fn reading(&self) -> usize {
        self.reading
    }

    /// URLs queued in memory or in flight.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(host: &str, n: u32, kind: Kind) -> Item {
        Item {
            url: format!("http://{host}/{n}"),
            host: host.into(),
            source: "s".into(),
            kind,
            depth: 0,
            anchor: None,
            attempts: 0,
            form: None,
        }
    }

    #[test]
    fn reports_before_listings_and_hosts_in_turn() {
        let mut q = Queues::default();
        q.push(item("a", 1, Kind::Listing));
        q.push(item("a", 2, Kind::Report));
        q.push(item("b", 3, Kind::Listing));
        let now = Instant::now();
        assert_eq!(q.next_host(now).as_deref(), Some("a"));
        assert_eq!(
            q.pop("a", |_| true).map(|i| i.url),
            Some("http://a/2".into())
        );
        q.started("a");
        assert_eq!(q.next_host(now).as_deref(), Some("b"));
        assert_eq!(q.next_host(now), None);
        q.finished("a", "http://a/2", None, false);
        assert_eq!(q.next_host(now).as_deref(), Some("a"));
        assert_eq!(
            q.pop("a", |_| true).map(|i| i.url),
            Some("http://a/1".into())
        );
    }

    #[test]
    fn a_url_is_held_once_and_full_queues_spill_to_disk() {
        let mut q = Queues::default();
        q.push(item("a", 1, Kind::Report));
        q.push(item("a", 1, Kind::Report));
        assert_eq!(q.held(), 1);
        for n in 2..=(BATCH as u32 + 5) {
            q.push(item("a", n, Kind::Report));
        }
        assert_eq!(q.held(), BATCH);
        let mut popped = 0;
        while q.pop("a", |_| true).is_some() {
            popped += 1;
        }
        assert_eq!(popped, BATCH);
        assert!(q.needs_refill("a"));
    }

    #[test]
    fn busy_hosts_wait_for_their_visit_and_timers_fire_in_order() {
        let mut q = Queues::default();
        let now = Instant::now();
        q.add_host("a".into(), Some(now + std::time::Duration::from_secs(60)));
        q.add_host("b".into(), None);
        assert_eq!(q.next_host(now).as_deref(), Some("b"));
        assert_eq!(q.next_host(now), None);
        assert!(q.next_wake().is_some_and(|t| t > now));
        let later = now + std::time::Duration::from_secs(61);
        assert_eq!(q.next_host(later).as_deref(), Some("a"));
    }

    /// A visit that let its host go leaves the host to the next visit: its
    /// end neither frees the host that visit holds nor queues it twice.
    #[test]
    fn a_released_host_takes_its_next_visit_before_the_first_ends() {
        let mut q = Queues::default();
        let now = Instant::now();
        for n in 1..=3 {
            q.push(item("a", n, Kind::Report));
        }
        assert_eq!(q.next_host(now).as_deref(), Some("a"));
        assert!(q.pop("a", |_| true).is_some());
        q.started("a");
        assert_eq!(q.next_host(now), None, "busy with the first visit");
        q.released("a", None);
        assert_eq!(q.reading(), 1);
        assert_eq!(q.next_host(now).as_deref(), Some("a"));
        assert_eq!(
            q.pop("a", |_| true).map(|i| i.url),
            Some("http://a/2".into())
        );
        q.started("a");
        q.finished("a", "http://a/1", None, true);
        assert_eq!(q.reading(), 0);
        assert_eq!(q.next_host(now), None, "still busy with the second visit");
        q.finished("a", "http://a/2", None, false);
        assert_eq!(q.next_host(now).as_deref(), Some("a"));
        assert_eq!(q.next_host(now), None, "queued once");
        assert_eq!(q.held(), 1);
    }
}
