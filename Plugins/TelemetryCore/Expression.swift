// The subset of CEL that stats configurations use, evaluated inside the
// plugin (Envoy's CEL foreign functions are not built into every proxy):
// string, integer and boolean literals, list `[a, b]` and map `{'k': v}`
// literals; `+` on strings, integers and lists; `-` `*` `/` `%` and unary `-`
// on integers (overflow and division by zero give no value, as CEL's errors
// do); `==` `!=` `<` `<=` `>` `>=` (integers, strings by code point, booleans);
// `x in list`, `key in map`; `&&` `||` `!`; `cond ? a : b`; `string(x)`,
// `int(x)`, `has(x.y)`, `size(x)` / `x.size()`; `x.startsWith(s)` /
// `endsWith` / `contains`; field access `a.b` and index access `a['k']` /
// `a[0]`. Expressions are parsed once, at configure time; a syntax error names
// the position, and an unknown function, method or attribute is refused with
// the list of what is supported.

/// A value an expression produces.
public indirect enum ExpressionValue: Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case map([(key: String, value: ExpressionValue)])
    case list([ExpressionValue])

    public static func == (lhs: ExpressionValue, rhs: ExpressionValue) -> Bool {
        switch (lhs, rhs) {
        // CEL strings are equal when their code points are (UTF-8 bytes), not
        // when they are canonically equivalent as Swift's `==` has it.
        case let (.string(a), .string(b)): return UTF8Text.equal(a, b)
        case let (.int(a), .int(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case let (.list(a), .list(b)): return a == b
        case let (.map(a), .map(b)):
            if a.count != b.count { return false }
            for index in 0..<a.count where !UTF8Text.equal(a[index].key, b[index].key) || a[index].value != b[index].value {
                return false
            }
            return true
        default: return false
        }
    }

    /// The text a label gets: strings as they are, numbers in decimal, booleans as true/false.
    public var labelText: String? {
        switch self {
        case let .string(text): return text
        case let .int(number): return String(number)
        case let .bool(flag): return flag ? "true" : "false"
        default: return nil
        }
    }

    /// The entry `name` of a map value.
    public func member(_ name: String) -> ExpressionValue? {
        guard case let .map(entries) = self else { return nil }
        var found: ExpressionValue? = nil
        for entry in entries where UTF8Text.equal(entry.key, name) { found = entry.value }
        return found
    }

    /// `size()`: code points of a string (CEL counts those, not bytes), entries of a list or map.
    public var size: Int64? {
        switch self {
        case let .string(text): return Int64(UTF8Text.codePointCount(text))
        case let .list(items): return Int64(items.count)
        case let .map(entries): return Int64(entries.count)
        default: return nil
        }
    }

    /// CEL's ordering within one type (integers, strings by code point,
    /// false before true); nil across types.
    static func order(_ lhs: ExpressionValue, _ rhs: ExpressionValue) -> Int? {
        switch (lhs, rhs) {
        case let (.int(a), .int(b)): return a < b ? -1 : (a == b ? 0 : 1)
        case let (.string(a), .string(b)): return UTF8Text.compare(a, b)
        case let (.bool(a), .bool(b)): return a == b ? 0 : (a ? 1 : -1)
        default: return nil
        }
    }
}

/// Where identifiers get their values. Class-bound so Embedded Swift can hold it.
public protocol ExpressionEnvironment: AnyObject {
    /// The value at an attribute path (`["request", "host"]`, `["upstream_peer"]`), or nil if absent.
    func resolve(_ path: [String]) -> ExpressionValue?
}

/// A parse error at a byte offset of the expression text.
public struct ExpressionSyntaxError: Error, Equatable {
    public let position: Int
    public let reason: String
    /// The text is well-formed but larger or deeper than `ExpressionLimits`
    /// allow (a configuration to refuse, not a typo to tolerate).
    public let exceedsLimit: Bool
    /// The text names a function, method or attribute this evaluator does not
    /// have (a configuration to refuse: it could never give a value).
    public let isUnsupported: Bool

    public init(position: Int, reason: String, exceedsLimit: Bool = false, isUnsupported: Bool = false) {
        self.position = position
        self.reason = reason
        self.exceedsLimit = exceedsLimit
        self.isUnsupported = isUnsupported
    }

    /// Whether the configuration holding this expression must be refused
    /// (rather than the expression dropped with a warning, as Istio does for
    /// text it cannot parse).
    public var refusesConfiguration: Bool { exceedsLimit || isUnsupported }

    public var message: String { "at position \(position): \(reason)" }
}

/// Bounds on what one expression may be, so that no configuration can
/// exhaust the guest's stack or memory: parsing and evaluation recurse once
/// per level of the tree, and the wasm32 stack is 128 KiB.
public enum ExpressionLimits {
    /// Bytes of expression text.
    public static let maxSourceBytes = 4096
    /// Nodes of the parsed tree (literals, attributes, operators, calls).
    public static let maxNodes = 256
    /// Levels of the parsed tree (`a + b + c` is 3 deep, `!!x` is 3 deep).
    public static let maxDepth = 32
    /// Bytes of a string an evaluation may build with `+`; longer is `unknown`.
    public static let maxStringBytes = 16 * 1024
}

/// A parsed expression.
public indirect enum Expression: Equatable {
    case literal(ExpressionValue)
    /// An attribute path: identifier followed by field names / constant string keys.
    case attribute([String])
    case index(Expression, Expression)
    case member(Expression, String)
    case call(ExpressionFunction, [Expression])
    case method(Expression, ExpressionMethod, [Expression])
    case binary(Expression, BinaryOperator, Expression)
    case not(Expression)
    case negate(Expression)
    case conditional(Expression, Expression, Expression)
    case list([Expression])
    /// A map literal: keys and values in the order written.
    case map(keys: [Expression], values: [Expression])

    /// Parses `text`; text beyond `ExpressionLimits` is refused with `exceedsLimit` set.
    public static func parse(_ text: String) throws(ExpressionSyntaxError) -> Expression {
        let bytes = Array(text.utf8)
        if bytes.count > ExpressionLimits.maxSourceBytes {
            throw ExpressionSyntaxError(position: 0, reason: "expression longer than 4096 bytes", exceedsLimit: true)
        }
        var parser = ExpressionParser(bytes: bytes)
        let parsed = try parser.parseConditional()
        parser.skipSpace()
        if parser.offset != parser.bytes.count { throw parser.error("unexpected \(parser.describeCurrent())") }
        return parsed.expression
    }

    /// Evaluates; nil when an attribute is missing or types do not fit (Istio reports `unknown`).
    public func evaluate(_ environment: ExpressionEnvironment) -> ExpressionValue? {
        switch self {
        case let .literal(value):
            return value
        case let .attribute(path):
            return environment.resolve(path)
        case let .member(base, name):
            if case let .attribute(path) = base { return environment.resolve(path + [name]) }
            return base.evaluate(environment)?.member(name)
        case let .index(base, key):
            guard let keyValue = key.evaluate(environment) else { return nil }
            if case let .attribute(path) = base, case let .string(name) = keyValue { return environment.resolve(path + [name]) }
            guard let container = base.evaluate(environment) else { return nil }
            switch (container, keyValue) {
            case let (.map, .string(name)): return container.member(name)
            case let (.list(items), .int(position)):
                return position >= 0 && position < Int64(items.count) ? items[Int(position)] : nil
            default: return nil
            }
        case let .call(function, arguments):
            return Self.call(function, arguments, environment)
        case let .method(base, method, arguments):
            return Self.call(method, on: base, arguments, environment)
        case let .binary(left, op, right):
            if op == .and || op == .or {
                guard case let .bool(a)? = left.evaluate(environment) else { return nil }
                if op == .and && !a { return .bool(false) }
                if op == .or && a { return .bool(true) }
                guard case let .bool(b)? = right.evaluate(environment) else { return nil }
                return .bool(b)
            }
            guard let a = left.evaluate(environment), let b = right.evaluate(environment) else { return nil }
            return op.apply(a, b)
        case let .not(inner):
            guard case let .bool(value)? = inner.evaluate(environment) else { return nil }
            return .bool(!value)
        case let .negate(inner):
            guard case let .int(value)? = inner.evaluate(environment) else { return nil }
            let (negated, overflow) = Int64(0).subtractingReportingOverflow(value)
            return overflow ? nil : .int(negated)
        case let .conditional(condition, then, otherwise):
            guard case let .bool(flag)? = condition.evaluate(environment) else { return nil }
            return flag ? then.evaluate(environment) : otherwise.evaluate(environment)
        case let .list(elements):
            var items: [ExpressionValue] = []
            for element in elements {
                guard let item = element.evaluate(environment) else { return nil }
                items.append(item)
            }
            return .list(items)
        case let .map(keys, values):
            var entries: [(key: String, value: ExpressionValue)] = []
            for index in keys.indices {
                guard case let .string(key)? = keys[index].evaluate(environment),
                    let value = values[index].evaluate(environment)
                else { return nil }
                entries.append((key: key, value: value))
            }
            return .map(entries)
        }
    }

    private static func call(
        _ function: ExpressionFunction, _ arguments: [Expression],
        _ environment: ExpressionEnvironment
    ) -> ExpressionValue? {
        guard arguments.count == 1 else { return nil }
        if function == .has { return .bool(arguments[0].evaluate(environment) != nil) }
        guard let value = arguments[0].evaluate(environment) else { return nil }
        switch function {
        case .has: return nil
        case .string: return value.labelText.map { .string($0) }
        case .size: return value.size.map { .int($0) }
        case .int:
            switch value {
            case .int: return value
            case let .string(text): return Int64(text).map { .int($0) }
            default: return nil
            }
        }
    }

    private static func call(
        _ method: ExpressionMethod, on base: Expression, _ arguments: [Expression],
        _ environment: ExpressionEnvironment
    ) -> ExpressionValue? {
        if method == .size {
            guard arguments.isEmpty else { return nil }
            return base.evaluate(environment)?.size.map { .int($0) }
        }
        guard case let .string(text)? = base.evaluate(environment), arguments.count == 1,
            case let .string(argument)? = arguments[0].evaluate(environment)
        else { return nil }
        let bytes = Array(text.utf8)
        let other = Array(argument.utf8)
        switch method {
        case .size: return nil
        case .startsWith: return .bool(bytes.starts(with: other))
        case .endsWith: return .bool(bytes.count >= other.count && Array(bytes.suffix(other.count)) == other)
        case .contains:
            if other.isEmpty { return .bool(true) }
            if bytes.count < other.count { return .bool(false) }
            for start in 0...(bytes.count - other.count) where Array(bytes[start..<start + other.count]) == other {
                return .bool(true)
            }
            return .bool(false)
        }
    }
}

/// The binary operators, resolved at parse time (evaluation compares no text).
public enum BinaryOperator: Equatable, Sendable {
    case or, and
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual, `in`
    case plus, minus
    case times, divide, remainder

    var spelling: StaticString {
        switch self {
        case .or: return "||"
        case .and: return "&&"
        case .equal: return "=="
        case .notEqual: return "!="
        case .less: return "<"
        case .lessOrEqual: return "<="
        case .greater: return ">"
        case .greaterOrEqual: return ">="
        case .in: return "in"
        case .plus: return "+"
        case .minus: return "-"
        case .times: return "*"
        case .divide: return "/"
        case .remainder: return "%"
        }
    }

    /// The value of `a op b` for every operator but `&&` / `||` (which
    /// short-circuit); nil where CEL has no overload or reports an error.
    func apply(_ a: ExpressionValue, _ b: ExpressionValue) -> ExpressionValue? {
        switch self {
        case .or, .and: return nil
        case .equal: return .bool(a == b)
        case .notEqual: return .bool(a != b)
        case .less: return ExpressionValue.order(a, b).map { .bool($0 < 0) }
        case .lessOrEqual: return ExpressionValue.order(a, b).map { .bool($0 <= 0) }
        case .greater: return ExpressionValue.order(a, b).map { .bool($0 > 0) }
        case .greaterOrEqual: return ExpressionValue.order(a, b).map { .bool($0 >= 0) }
        case .in:
            switch b {
            case let .list(items):
                for item in items where item == a { return .bool(true) }
                return .bool(false)
            case .map:
                guard case let .string(key) = a else { return nil }
                return .bool(b.member(key) != nil)
            default: return nil
            }
        case .plus:
            switch (a, b) {
            case let (.string(x), .string(y)):
                return x.utf8.count + y.utf8.count > ExpressionLimits.maxStringBytes ? nil : .string(x + y)
            case let (.list(x), .list(y)): return .list(x + y)
            default: return integers(a, b)
            }
        case .minus, .times, .divide, .remainder: return integers(a, b)
        }
    }

    /// `a op b` for the integer-only operators; nil on overflow or division by zero.
    private func integers(_ a: ExpressionValue, _ b: ExpressionValue) -> ExpressionValue? {
        guard case let .int(x) = a, case let .int(y) = b else { return nil }
        let result: (partialValue: Int64, overflow: Bool)
        switch self {
        case .plus: result = x.addingReportingOverflow(y)
        case .minus: result = x.subtractingReportingOverflow(y)
        case .times: result = x.multipliedReportingOverflow(by: y)
        case .divide: result = y == 0 ? (0, true) : x.dividedReportingOverflow(by: y)
        case .remainder: result = y == 0 ? (0, true) : x.remainderReportingOverflow(dividingBy: y)
        default: return nil
        }
        return result.overflow ? nil : .int(result.partialValue)
    }
}

/// The global functions expressions may call.
public enum ExpressionFunction: Int, Equatable, Sendable, NamedByBytes {
    case has, int, size, string

    /// In case order; also the error message's list.
    public static let names: StaticString = "has, int, size, string"
}

/// The methods expressions may call.
public enum ExpressionMethod: Int, Equatable, Sendable, NamedByBytes {
    case contains, endsWith, size, startsWith

    /// In case order; also the error message's list.
    public static let names: StaticString = "contains, endsWith, size, startsWith"
}

/// The attribute names expressions may start with: Envoy's request,
/// connection and xDS attributes, the Wasm-only names older Envoy serves at
/// the top level, and the peers metadata exchange stores.
public enum AttributeVocabulary {
    /// The names a path may start with, as an error message lists them.
    public static var roots: StaticString {
        """
        request, response, connection, upstream, source, destination, metadata, filter_state, xds, node, \
        cluster_name, cluster_metadata, route_name, route_metadata, listener_direction, listener_metadata, \
        upstream_host_metadata, plugin_name, plugin_root_id, plugin_vm_id, upstream_peer, downstream_peer, \
        upstream_peer_id, downstream_peer_id
        """
    }

    /// The fields of `xds` (Envoy 1.33 and later), as an error message lists them.
    public static var xdsFields: StaticString {
        """
        node, cluster_name, cluster_metadata, route_name, route_metadata, virtual_host_name, virtual_host_metadata, \
        filter_chain_name, listener_metadata, listener_direction, upstream_host_metadata, \
        upstream_host_locality_metadata
        """
    }

    /// Whether a path may start with `name`.
    public static func isRoot(_ name: String) -> Bool { UTF8Text.isListed(name, in: roots) }

    /// Whether `name` is a field of `xds`.
    public static func isXDSField(_ name: String) -> Bool { UTF8Text.isListed(name, in: xdsFields) }
}

/// A parsed subtree and its depth (levels, counting itself).
struct ParsedExpression {
    let expression: Expression
    let depth: Int
}

/// Recursive descent over the expression text. Every node it builds is
/// counted and its depth known, so `ExpressionLimits` hold for the tree
/// (which bounds evaluation) and for the parser's own recursion.
struct ExpressionParser {
    let bytes: [UInt8]
    var offset = 0
    /// Nested calls of `parseConditional` / `parseUnary` in progress.
    var recursion = 0
    var nodes = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ reason: String) -> ExpressionSyntaxError { ExpressionSyntaxError(position: offset, reason: reason) }

    func limitError(_ reason: String) -> ExpressionSyntaxError {
        ExpressionSyntaxError(position: offset, reason: reason, exceedsLimit: true)
    }

    /// Counts a new node whose deepest child has depth `childDepth`.
    @inline(never)
    mutating func node(_ expression: Expression, childDepth: Int = 0) throws(ExpressionSyntaxError) -> ParsedExpression {
        nodes += 1
        if nodes > ExpressionLimits.maxNodes { throw limitError("more than 256 terms") }
        let depth = childDepth + 1
        if depth > ExpressionLimits.maxDepth { throw limitError(Self.tooDeep) }
        return ParsedExpression(expression: expression, depth: depth)
    }

    /// Guards the parser's own recursion (parentheses, `!`, arguments).
    /// The limit messages, as literals: they must match `ExpressionLimits`.
    static let tooDeep = "nested deeper than 32 levels"

    mutating func enter() throws(ExpressionSyntaxError) {
        recursion += 1
        if recursion > ExpressionLimits.maxDepth { throw limitError(Self.tooDeep) }
    }

    func describeCurrent() -> String {
        offset < bytes.count ? "'\(String(decoding: [bytes[offset]], as: UTF8.self))'" : "end of expression"
    }

    mutating func skipSpace() {
        while offset < bytes.count, bytes[offset] == 0x20 || bytes[offset] == 0x09 || bytes[offset] == 0x0A { offset += 1 }
    }

    mutating func consume(_ text: StaticString) -> Bool {
        skipSpace()
        let count = text.utf8CodeUnitCount
        if offset + count > bytes.count { return false }
        for index in 0..<count where bytes[offset + index] != text.utf8Start[index] { return false }
        offset += count
        return true
    }

    mutating func parseConditional() throws(ExpressionSyntaxError) -> ParsedExpression {
        try enter()
        defer { recursion -= 1 }
        let condition = try parseBinary(level: 0)
        if consume("?") {
            let then = try parseConditional()
            guard consume(":") else { throw error("expected ':' in a conditional, found \(describeCurrent())") }
            let otherwise = try parseConditional()
            return try node(
                .conditional(condition.expression, then.expression, otherwise.expression),
                childDepth: max(condition.depth, max(then.depth, otherwise.depth)))
        }
        return condition
    }

    /// Precedence levels, loosest first: `||`; `&&`; `==` `!=` `<` `<=` `>`
    /// `>=` `in`; `+` `-`; `*` `/` `%`.
    static let levelCount = 5

    /// Consumes `op` at the current position. A spelling that is the start of
    /// a longer token is not the operator: `<` of `<=`, `in` of `index`.
    mutating func consume(operator op: BinaryOperator) -> Bool {
        skipSpace()
        let spelling = op.spelling
        let count = spelling.utf8CodeUnitCount
        if offset + count > bytes.count { return false }
        for index in 0..<count where bytes[offset + index] != spelling.utf8Start[index] { return false }
        if offset + count < bytes.count {
            let next = bytes[offset + count]
            switch op {
            case .less, .greater: if next == UInt8(ascii: "=") { return false }
            case .in: if isIdentifierStart(next) || (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9")) { return false }
            default: break
            }
        }
        offset += count
        return true
    }

    /// The operator of `level` at the current position, consumed; nil if none.
    /// (A switch, not a static table of operators: Embedded Swift for wasm32
    /// initialised a `static let [[BinaryOperator]]` with values that compare
    /// equal to the wrong case.)
    mutating func consumeOperator(of level: Int) -> BinaryOperator? {
        switch level {
        case 0: return consume(operator: .or) ? .or : nil
        case 1: return consume(operator: .and) ? .and : nil
        case 2:
            if consume(operator: .equal) { return .equal }
            if consume(operator: .notEqual) { return .notEqual }
            if consume(operator: .lessOrEqual) { return .lessOrEqual }
            if consume(operator: .less) { return .less }
            if consume(operator: .greaterOrEqual) { return .greaterOrEqual }
            if consume(operator: .greater) { return .greater }
            return consume(operator: .in) ? .in : nil
        case 3:
            if consume(operator: .plus) { return .plus }
            return consume(operator: .minus) ? .minus : nil
        default:
            if consume(operator: .times) { return .times }
            if consume(operator: .divide) { return .divide }
            return consume(operator: .remainder) ? .remainder : nil
        }
    }

    mutating func parseBinary(level: Int) throws(ExpressionSyntaxError) -> ParsedExpression {
        if level == Self.levelCount { return try parseUnary() }
        var left = try parseBinary(level: level + 1)
        while let op = consumeOperator(of: level) {
            let right = try parseBinary(level: level + 1)
            left = try node(.binary(left.expression, op, right.expression), childDepth: max(left.depth, right.depth))
        }
        return left
    }

    mutating func parseUnary() throws(ExpressionSyntaxError) -> ParsedExpression {
        skipSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "!"), offset + 1 >= bytes.count || bytes[offset + 1] != UInt8(ascii: "=") {
            offset += 1
            try enter()
            defer { recursion -= 1 }
            let inner = try parseUnary()
            return try node(.not(inner.expression), childDepth: inner.depth)
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") {
            if offset + 1 < bytes.count, bytes[offset + 1] >= UInt8(ascii: "0") && bytes[offset + 1] <= UInt8(ascii: "9") {
                return try parsePostfix(try parseNumber())  // `-9223372036854775808` is a literal
            }
            offset += 1
            try enter()
            defer { recursion -= 1 }
            let inner = try parseUnary()
            return try node(.negate(inner.expression), childDepth: inner.depth)
        }
        return try parsePostfix(try parsePrimary())
    }

    mutating func parsePrimary() throws(ExpressionSyntaxError) -> ParsedExpression {
        skipSpace()
        guard offset < bytes.count else { throw error("expected a value, found end of expression") }
        let byte = bytes[offset]
        if byte == UInt8(ascii: "(") {
            offset += 1
            let inner = try parseConditional()
            guard consume(")") else { throw error("expected ')', found \(describeCurrent())") }
            return inner
        }
        if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") { return try node(.literal(.string(try parseString(quote: byte)))) }
        if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { return try parseNumber() }
        if byte == UInt8(ascii: "[") {
            offset += 1
            let (elements, depth) = try parseArguments(closing: UInt8(ascii: "]"))
            return try node(.list(elements), childDepth: depth)
        }
        if byte == UInt8(ascii: "{") { return try parseMapLiteral() }
        guard isIdentifierStart(byte) else { throw error("unexpected \(describeCurrent())") }
        let name = parseIdentifier()
        if UTF8Text.equal(name, "true") { return try node(.literal(.bool(true))) }
        if UTF8Text.equal(name, "false") { return try node(.literal(.bool(false))) }
        skipSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "(") {
            offset += 1
            let (arguments, depth) = try parseArguments()
            guard let function = ExpressionFunction(name: name) else {
                throw unsupported("unknown function '\(name)' (supported: \(UTF8Text.string(ExpressionFunction.names)))")
            }
            return try node(.call(function, arguments), childDepth: depth)
        }
        guard AttributeVocabulary.isRoot(name) else {
            offset -= name.utf8.count
            throw unsupported("unknown attribute '\(name)' (supported: \(UTF8Text.string(AttributeVocabulary.roots)))")
        }
        return try node(.attribute([name]))
    }

    func unsupported(_ reason: String) -> ExpressionSyntaxError {
        ExpressionSyntaxError(position: offset, reason: reason, isUnsupported: true)
    }

    /// A decimal integer, with its sign if one is at the current position.
    mutating func parseNumber() throws(ExpressionSyntaxError) -> ParsedExpression {
        let start = offset
        let negative = bytes[offset] == UInt8(ascii: "-")
        if negative { offset += 1 }
        var number: Int64 = 0
        var overflow = false
        while offset < bytes.count, bytes[offset] >= UInt8(ascii: "0") && bytes[offset] <= UInt8(ascii: "9") {
            // Accumulated negatively: Int64.min has no positive counterpart.
            let digit = Int64(bytes[offset] - UInt8(ascii: "0"))
            let (shifted, o1) = number.multipliedReportingOverflow(by: 10)
            let (next, o2) = shifted.subtractingReportingOverflow(digit)
            overflow = overflow || o1 || o2
            number = next
            offset += 1
        }
        if !negative {
            let (positive, o3) = Int64(0).subtractingReportingOverflow(number)
            overflow = overflow || o3
            number = positive
        }
        if overflow {
            offset = start
            throw error("invalid number")
        }
        return try node(.literal(.int(number)))
    }

    /// `{key: value, ...}` from the opening brace.
    mutating func parseMapLiteral() throws(ExpressionSyntaxError) -> ParsedExpression {
        offset += 1
        var keys: [Expression] = []
        var values: [Expression] = []
        var depth = 0
        if consume(byte: UInt8(ascii: "}")) { return try node(.map(keys: keys, values: values)) }
        while true {
            let key = try parseConditional()
            guard consume(":") else { throw error("expected ':' after a map key, found \(describeCurrent())") }
            let value = try parseConditional()
            keys.append(key.expression)
            values.append(value.expression)
            depth = max(depth, max(key.depth, value.depth))
            if consume(byte: UInt8(ascii: "}")) { return try node(.map(keys: keys, values: values), childDepth: depth) }
            guard consume(",") else { throw error("expected ',' or '}', found \(describeCurrent())") }
        }
    }

    /// The arguments (or list elements) up to `closing` and the depth of the deepest.
    mutating func parseArguments(closing: UInt8 = UInt8(ascii: ")")) throws(ExpressionSyntaxError) -> ([Expression], Int) {
        var arguments: [Expression] = []
        var depth = 0
        if consume(byte: closing) { return (arguments, depth) }
        while true {
            let argument = try parseConditional()
            arguments.append(argument.expression)
            depth = max(depth, argument.depth)
            if consume(byte: closing) { return (arguments, depth) }
            guard consume(",") else {
                throw error((closing == UInt8(ascii: ")") ? "expected ',' or ')', found " : "expected ',' or ']', found ") + describeCurrent())
            }
        }
    }

    mutating func consume(byte: UInt8) -> Bool {
        skipSpace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    mutating func parsePostfix(_ base: ParsedExpression) throws(ExpressionSyntaxError) -> ParsedExpression {
        var parsed = base
        while true {
            skipSpace()
            guard offset < bytes.count else { return parsed }
            if bytes[offset] == UInt8(ascii: ".") {
                offset += 1
                skipSpace()
                guard offset < bytes.count, isIdentifierStart(bytes[offset]) else {
                    throw error("expected a field name after '.', found \(describeCurrent())")
                }
                let name = parseIdentifier()
                skipSpace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "(") {
                    offset += 1
                    let (arguments, depth) = try parseArguments()
                    guard let method = ExpressionMethod(name: name) else {
                        throw unsupported("unknown method '\(name)' (supported: \(UTF8Text.string(ExpressionMethod.names)))")
                    }
                    parsed = try node(.method(parsed.expression, method, arguments), childDepth: max(parsed.depth, depth))
                } else if case let .attribute(path) = parsed.expression {
                    if path.count == 1, UTF8Text.equal(path[0], "xds"), !AttributeVocabulary.isXDSField(name) {
                        offset -= name.utf8.count
                        throw unsupported("unknown attribute 'xds.\(name)' (supported: \(UTF8Text.string(AttributeVocabulary.xdsFields)))")
                    }
                    // A longer attribute path is still one node.
                    parsed = ParsedExpression(expression: .attribute(path + [name]), depth: parsed.depth)
                } else {
                    parsed = try node(.member(parsed.expression, name), childDepth: parsed.depth)
                }
            } else if bytes[offset] == UInt8(ascii: "[") {
                offset += 1
                let key = try parseConditional()
                guard consume("]") else { throw error("expected ']', found \(describeCurrent())") }
                if case let .attribute(path) = parsed.expression, case let .literal(.string(name)) = key.expression {
                    parsed = ParsedExpression(expression: .attribute(path + [name]), depth: parsed.depth)
                } else {
                    parsed = try node(.index(parsed.expression, key.expression), childDepth: max(parsed.depth, key.depth))
                }
            } else {
                return parsed
            }
        }
    }

    func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || byte == UInt8(ascii: "_")
    }

    mutating func parseIdentifier() -> String {
        let start = offset
        while offset < bytes.count, isIdentifierStart(bytes[offset]) || (bytes[offset] >= UInt8(ascii: "0") && bytes[offset] <= UInt8(ascii: "9")) {
            offset += 1
        }
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    mutating func parseString(quote: UInt8) throws(ExpressionSyntaxError) -> String {
        let start = offset
        offset += 1
        var out: [UInt8] = []
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            if byte == quote { return String(decoding: out, as: UTF8.self) }
            if byte == UInt8(ascii: "\\"), offset < bytes.count {
                let escaped = bytes[offset]
                offset += 1
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                default: out.append(escaped)
                }
                continue
            }
            out.append(byte)
        }
        throw ExpressionSyntaxError(position: start, reason: "unterminated string")
    }
}
