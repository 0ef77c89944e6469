//! In-process rate limits (GCRA via `governor`). Login is limited per client IP and per
//! e-mail, so neither spraying one account from many addresses nor many accounts from one
//! address gets far.

use std::{num::NonZeroU32, time::Duration};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

pub struct LoginLimiter {
    by_ip: Keyed,
    by_email: Keyed,
    clock: DefaultClock,
}

fn quota(burst: u32, one_per: Duration) -> Quota {
    Quota::with_period(one_per)
        .expect("non-zero period")
        .allow_burst(NonZeroU32::new(burst).expect("non-zero burst"))
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl LoginLimiter {
    /// 30 attempts per IP then one per 2 s; 8 per e-mail then one per 30 s.
    pub fn new() -> Self {
        Self {
            by_ip: RateLimiter::keyed(quota(30, Duration::from_secs(2))),
            by_email: RateLimiter::keyed(quota(8, Duration::from_secs(30))),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when this attempt must be refused.
    pub fn check(&self, ip: &str, email: &str) -> Result<(), Duration> {
        let now = self.clock.now();
        self.by_ip
            .check_key(&ip.to_owned())
            .map_err(|n| n.wait_time_from(now))?;
        let email = email.trim().to_lowercase();
        self.by_email
            .check_key(&email)
            .map_err(|n| n.wait_time_from(now))
    }

    /// Forgets keys that are back to full capacity, bounding memory.
    pub fn shrink(&self) {
        self.by_ip.retain_recent();
        self.by_email.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_limit_applies_across_ips() {
        let limiter = LoginLimiter::new();
        for i in 0..8 {
            assert!(limiter.check(&format!("10.0.0.{i}"), "a@b.co").is_ok());
        }
        let wait = limiter.check("10.0.0.99", "A@B.co").unwrap_err();
        assert!(wait > Duration::ZERO);
        assert!(limiter.check("10.0.0.99", "other@b.co").is_ok());
    }
}
