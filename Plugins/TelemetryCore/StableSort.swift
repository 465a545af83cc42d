/// A bottom-up merge sort: stable, O(n log n) in the worst case (peer
/// metadata is hostile input), without recursion. The standard library's
/// sort is all of that too, but each specialisation of it costs the modules
/// several kilobytes; this one costs a few hundred bytes.
public enum StableSort {
    /// Sorts `items` so that `less` holds between neighbours; equal elements keep their order.
    public static func sort<Element>(_ items: inout [Element], by less: (Element, Element) -> Bool) {
        let count = items.count
        if count < 2 { return }
        var source = items
        var target = items
        var width = 1
        while width < count {
            var start = 0
            while start < count {
                let middle = min(start + width, count)
                let end = min(start + 2 * width, count)
                var left = start
                var right = middle
                var out = start
                while left < middle || right < end {
                    // The left run wins ties: that is what keeps equal elements in order.
                    if right == end || (left < middle && !less(source[right], source[left])) {
                        target[out] = source[left]
                        left += 1
                    } else {
                        target[out] = source[right]
                        right += 1
                    }
                    out += 1
                }
                start = end
            }
            swap(&source, &target)
            width *= 2
        }
        items = source
    }
}
