import Primitives

/// The small "send a packet" form: a few fields, validated on every key stroke.
public struct SendForm: Sendable, Equatable {
    /// The form's fields, in Tab order.
    public enum Field: Int, Sendable, Equatable, CaseIterable {
        case kind, sender, recipient, amount, shares, greeting

        public var label: String {
            switch self {
            case .kind: return "Kind"
            case .sender: return "From"
            case .recipient: return "To"
            case .amount: return "Amount ¥"
            case .shares: return "Shares"
            case .greeting: return "Greeting"
            }
        }
    }

    public var kind: PacketKindLabel
    public var sender: String
    public var recipient: String
    public var amount: String
    public var shares: String
    public var greeting: String
    public var focused: Field
    /// Set once the operator pressed Enter on an invalid form: errors are then shown even for untouched fields.
    public var submitAttempted: Bool

    public init(
        kind: PacketKindLabel = .lucky, sender: String = "alice", recipient: String = "", amount: String = "",
        shares: String = "10", greeting: String = "恭喜发财", focused: Field = .amount
    ) {
        self.kind = kind
        self.sender = sender
        self.recipient = recipient
        self.amount = amount
        self.shares = shares
        self.greeting = greeting
        self.focused = focused
        self.submitAttempted = false
    }

    /// The fields that apply to the current kind.
    public var visibleFields: [Field] {
        switch kind {
        case .personal: return [.kind, .sender, .recipient, .amount, .greeting]
        case .lucky, .equal: return [.kind, .sender, .amount, .shares, .greeting]
        }
    }

    /// The text of a field.
    public func value(of field: Field) -> String {
        switch field {
        case .kind: return kind.rawValue
        case .sender: return sender
        case .recipient: return recipient
        case .amount: return amount
        case .shares: return shares
        case .greeting: return greeting
        }
    }

    mutating func edit(_ field: Field, _ change: (inout String) -> Void) {
        switch field {
        case .kind: break
        case .sender: change(&sender)
        case .recipient: change(&recipient)
        case .amount: change(&amount)
        case .shares: change(&shares)
        case .greeting: change(&greeting)
        }
    }

    mutating func cycleKind(forward: Bool) {
        let kinds: [PacketKindLabel] = [.personal, .lucky, .equal]
        let index = kinds.firstIndex(of: kind) ?? 0
        kind = kinds[(index + (forward ? 1 : kinds.count - 1)) % kinds.count]
    }

    mutating func moveFocus(forward: Bool) {
        let fields = visibleFields
        let index = fields.firstIndex(of: focused) ?? 0
        focused = fields[(index + (forward ? 1 : fields.count - 1)) % fields.count]
    }

    /// The error for one field, or `nil`. Empty untouched fields are not errors until a submit was attempted.
    public func error(for field: Field, validator: PacketRequestValidator) -> String? {
        switch field {
        case .kind, .greeting:
            return nil
        case .sender:
            return sender.isEmpty && submitAttempted ? PacketValidationError.missingSender.message : nil
        case .recipient:
            guard kind == .personal else { return nil }
            if recipient.isEmpty { return submitAttempted ? PacketValidationError.missingRecipient.message : nil }
            return recipient == sender ? PacketValidationError.sendingToSelf.message : nil
        case .amount:
            if amount.isEmpty { return submitAttempted ? "enter an amount" : nil }
            switch Money.parse(amount) {
            case .failure(let error): return SendForm.describe(error)
            case .success(let money):
                guard let request = request(amount: money, sharesOverride: 1) else { return nil }
                switch validator.validate(request) {
                case .amountNotPositive?, .amountAboveLimit?: return validator.validate(request)?.message
                default: break
                }
                if let shareCount = NumberText.wholeNumber(shares), kind != .personal,
                   let full = self.request(amount: money, sharesOverride: shareCount),
                   case .amountBelowShares? = validator.validate(full) {
                    return validator.validate(full)?.message
                }
                return nil
            }
        case .shares:
            guard kind != .personal else { return nil }
            guard let count = NumberText.wholeNumber(shares) else { return shares.isEmpty && !submitAttempted ? nil : "shares must be a whole number" }
            return validator.validateShares(count)?.message
        }
    }

    /// The first error of any visible field.
    public func firstError(validator: PacketRequestValidator) -> (field: Field, message: String)? {
        for field in visibleFields {
            if let message = error(for: field, validator: validator) { return (field, message) }
        }
        return nil
    }

    /// The request, when every field is valid.
    public func validRequest(validator: PacketRequestValidator) -> Result<PacketRequest, PacketValidationError>? {
        guard case .success(let money) = Money.parse(amount) else { return nil }
        let shareCount = NumberText.wholeNumber(shares) ?? 0
        guard let request = request(amount: money, sharesOverride: shareCount) else { return nil }
        if let error = validator.validate(request) { return .failure(error) }
        return .success(request)
    }

    private func request(amount money: Money, sharesOverride: Int) -> PacketRequest? {
        let note = greeting.isEmpty ? nil : greeting
        switch kind {
        case .personal: return PacketRequest(sender: sender, amount: money, kind: .personal(recipient: recipient), greeting: note)
        case .lucky: return PacketRequest(sender: sender, amount: money, kind: .lucky(shares: sharesOverride), greeting: note)
        case .equal: return PacketRequest(sender: sender, amount: money, kind: .equal(shares: sharesOverride), greeting: note)
        }
    }

    static func describe(_ error: MoneyParseError) -> String {
        switch error {
        case .empty: return "enter an amount"
        case .malformed(let text): return "'\(text)' is not an amount (like 100 or 8.37)"
        case .tooPrecise: return "at most two decimals (fen)"
        case .outOfRange: return "amount too large"
        case .negative: return "amount cannot be negative"
        }
    }
}
