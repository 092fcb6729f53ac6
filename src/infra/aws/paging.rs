//! The one pagination loop every describe goes through (EC2 `NextToken`, ELBv2 `NextMarker`).
//! Generic over the fetch, so it is tested with a fake (moto ignores EC2 page sizes).

use std::collections::HashSet;
use std::future::Future;

/// One page: its items and the token for the next page (absent or empty on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A safety stop: no describe lbsg does needs this many pages (100,000 SGs at 1,000 a page is
/// 100); a server that keeps handing out new tokens must not keep us looping.
pub const MAX_PAGES: usize = 10_000;

/// Fetch pages until the server has no next token. `fetch` gets the token of the page to get
/// (`None` for the first). A token seen twice ends the loop (a broken server would loop).
pub async fn paginate<T, E, F, Fut>(mut fetch: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_PAGES {
        let page = fetch(token.take()).await?;
        out.extend(page.items);
        match page.next.filter(|t| !t.is_empty()) {
            Some(t) if seen.insert(t.clone()) => token = Some(t),
            Some(t) => {
                tracing::warn!(token = %t, "AWS returned a page token twice; stopping");
                return Ok(out);
            }
            None => return Ok(out),
        }
    }
    tracing::warn!("stopped paging after {MAX_PAGES} pages");
    Ok(out)
}

/// Split `items` into batches of at most `size` (ELBv2 DescribeTags takes 20 ARNs a call).
pub fn batches<T: Clone>(items: &[T], size: usize) -> Vec<Vec<T>> {
    items.chunks(size.max(1)).map(<[T]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A fake server holding `n` items that honours the page size, like EC2 does.
    struct Fake {
        n: usize,
        page_size: usize,
        requests: RefCell<Vec<Option<String>>>,
    }

    impl Fake {
        async fn fetch(&self, token: Option<String>) -> Result<Page<usize>, String> {
            self.requests.borrow_mut().push(token.clone());
            let start: usize = match token {
                None => 0,
                Some(t) => t.parse().map_err(|_| format!("bad token {t}"))?,
            };
            let end = (start + self.page_size).min(self.n);
            Ok(Page {
                items: (start..end).collect(),
                next: (end < self.n).then(|| end.to_string()),
            })
        }
    }

    fn run(n: usize, page_size: usize) -> (Vec<usize>, Vec<Option<String>>) {
        let fake = Fake {
            n,
            page_size,
            requests: RefCell::new(Vec::new()),
        };
        let items = futures::executor::block_on(paginate(|t| fake.fetch(t))).unwrap();
        (items, fake.requests.into_inner())
    }

    #[test]
    fn pages_follow_the_arithmetic() {
        // 1,000 SGs and 3,000 ENIs at EC2's maximum page size of 1,000.
        for (n, size, pages) in [
            (1000, 1000, 1),
            (3000, 1000, 3),
            (3001, 1000, 4),
            (0, 1000, 1),
            (5, 2, 3),
        ] {
            let (items, requests) = run(n, size);
            assert_eq!(items, (0..n).collect::<Vec<_>>(), "n={n}");
            assert_eq!(requests.len(), pages, "n={n} size={size}");
            assert_eq!(requests[0], None);
            for (i, r) in requests.iter().enumerate().skip(1) {
                assert_eq!(r.as_deref(), Some((i * size).to_string().as_str()));
            }
        }
    }

    #[test]
    fn empty_token_ends_and_repeated_token_stops() {
        let empty = futures::executor::block_on(paginate(|_| async {
            Ok::<_, ()>(Page {
                items: vec![1],
                next: Some(String::new()),
            })
        }))
        .unwrap();
        assert_eq!(empty, vec![1]);

        let calls = RefCell::new(0);
        let looped = futures::executor::block_on(paginate(|_| {
            *calls.borrow_mut() += 1;
            async {
                Ok::<_, ()>(Page {
                    items: vec![7],
                    next: Some("same".to_string()),
                })
            }
        }))
        .unwrap();
        // First page, then the page for "same", whose answer repeats "same": stop.
        assert_eq!(*calls.borrow(), 2);
        assert_eq!(looped, vec![7, 7]);
    }

    #[test]
    fn an_error_stops_paging() {
        let calls = RefCell::new(0);
        let r = futures::executor::block_on(paginate(|t: Option<String>| {
            *calls.borrow_mut() += 1;
            async move {
                match t {
                    None => Ok(Page {
                        items: vec![1],
                        next: Some("2".into()),
                    }),
                    Some(_) => Err("throttled"),
                }
            }
        }));
        assert_eq!(r, Err("throttled"));
        assert_eq!(*calls.borrow(), 2);
    }

    #[test]
    fn batches_of_twenty() {
        let arns: Vec<u32> = (0..41).collect();
        let b = batches(&arns, 20);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![20, 20, 1]);
        assert!(batches::<u32>(&[], 20).is_empty());
    }
}
