import ArgumentParser
import Engine
import Ledger
import Primitives

/// `hongbao account open|list|show`.
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Open, list and inspect accounts.",
        subcommands: [Open.self, List.self, Show.self]
    )

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open an account, optionally with a deposit from the mint.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The account's name (any script, no spaces).") var name: String
        @Option(help: "Deposit this amount from the mint, e.g. 100.00.") var deposit: String?

        func run() async throws {
            let amount = try deposit.map { try parseAmount($0) }
            let account = try await data.withWritableBooks { books in
                try await userErrors { try await books.openAccount(name: name, deposit: amount) }
            }
            if output.json { return try Output.json(AccountView(account)) }
            Output.line("opened \(account.name) with \(account.balance.formatted)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List user accounts.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "How many to show (1–100,000).") var limit = "50"
        @Flag(help: "Richest first instead of by name.") var richest = false

        func run() async throws {
            let count = try NumberOption.integer(limit, "--limit", NumberOption.listRange)
            let (accounts, total) = try await data.withReadableBooks { books in
                try await userErrors {
                    (try await books.accounts(order: richest ? .balanceDescending : .name, limit: count),
                     try await books.userAccountCount())
                }
            }
            if output.json { return try Output.json(accounts.map(AccountView.init)) }
            for account in accounts {
                Output.line(Text.padded(account.name, to: 16) + " " + Text.rightAligned(account.balance.formatted, to: 18))
            }
            Output.line("\(accounts.count) of \(total) accounts")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an account's balance and bills.")
        @OptionGroup var data: DataOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The account's name.") var name: String
        @Option(help: "How many bills to show (1–100,000).") var limit = "20"

        struct View: Encodable {
            let account: AccountView
            let bills: [BillView]
        }

        func run() async throws {
            let count = try NumberOption.integer(limit, "--limit", NumberOption.listRange)
            let (account, bills) = try await data.withReadableBooks { books in
                try await userErrors {
                    guard let account = try await books.account(named: name) else { throw LedgerError.unknownAccount(name) }
                    return (account, try await books.bills(of: account.id, limit: count))
                }
            }
            if output.json { return try Output.json(View(account: AccountView(account), bills: bills.map(BillView.init))) }
            Output.line("\(account.name)  \(account.balance.formatted)")
            for bill in bills {
                let amount = (bill.amount.isPositive ? "+" : "") + bill.amount.formatted
                Output.line("  " + Text.rightAligned(amount, to: 14) + "  " + Text.rightAligned(bill.balanceAfter.formatted, to: 16)
                            + "  " + Text.padded(bill.counterparty, to: 20) + " " + bill.memo)
            }
        }
    }
}

/// Parses an amount argument; a bad one is a usage error.
func parseAmount(_ text: String) throws -> Money {
    switch Money.parse(text) {
    case let .success(money):
        guard money.isPositive else { throw UserError(message: "'\(text)' is not a positive amount", exitCode: ExitStatus.usage) }
        guard money <= Limits.default.money.maxSingleAmount else {
            throw UserError(message: "'\(text)' is too large (at most \(Limits.default.money.maxSingleAmount.formatted))",
                            exitCode: ExitStatus.usage)
        }
        return money
    case let .failure(error):
        throw UserError(error)
    }
}

/// Runs `body`, turning domain errors into `UserError`.
func userErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw UserError(error) }
}

func userErrors<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch { throw UserError(error) }
}
