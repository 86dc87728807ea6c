import Foundation
import LedgerFiles
import LedgerTestSupport
import Testing

/// `NOTIFY_SOCKET` as sd_notify writes to it, received by a datagram socket of the test's own.
@Suite struct ServiceManagerNotifierTests {
    @Test func aMessageIsOneDatagramToThePathOrTheAbstractName() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = try NotifySocket(path: "\(directory)/notify")
        defer { receiver.close() }
        let notifier = try ServiceManagerNotifier(environment: ["NOTIFY_SOCKET": receiver.path])
        #expect(notifier.isActive)
        #expect(notifier.notify(["READY=1", ServiceManagerNotifier.status("serving\nnow")]))
        #expect(receiver.receive(waiting: .seconds(5)) == "READY=1\nSTATUS=serving now")

        let name = "ledger-notify-test-\(getpid())"
        let abstract = try NotifySocket(path: "@" + name)
        defer { abstract.close() }
        #expect(try ServiceManagerNotifier(environment: ["NOTIFY_SOCKET": "@" + name]).notify(["STOPPING=1"]))
        #expect(abstract.receive(waiting: .seconds(5)) == "STOPPING=1")
    }

    @Test func withoutAManagerNothingIsSent() throws {
        let notifier = try ServiceManagerNotifier(environment: ["WATCHDOG_USEC": "1000000"])
        #expect(!notifier.isActive && notifier.watchdogInterval == nil)
        #expect(!notifier.notify(["READY=1"]))
    }

    @Test func theWatchdogIsThisProcesssOnlyWhenItsPidIsNamedOrNone() throws {
        let socket = ["NOTIFY_SOCKET": "/run/notify-test"]
        #expect(try ServiceManagerNotifier(environment: socket.merging(["WATCHDOG_USEC": "4000000"]) { $1 }).watchdogInterval == .seconds(4))
        let mine = socket.merging(["WATCHDOG_USEC": "500000", "WATCHDOG_PID": "\(getpid())"]) { $1 }
        #expect(try ServiceManagerNotifier(environment: mine).watchdogInterval == .milliseconds(500))
        let another = socket.merging(["WATCHDOG_USEC": "500000", "WATCHDOG_PID": "\(getpid() + 1)"]) { $1 }
        #expect(try ServiceManagerNotifier(environment: another).watchdogInterval == nil)
    }

    @Test(arguments: [
        (["NOTIFY_SOCKET": "run/notify"], "NOTIFY_SOCKET=run/notify is neither an absolute path"),
        (["NOTIFY_SOCKET": "/" + String(repeating: "n", count: 120)], "NOTIFY_SOCKET=/nnn"),
        (["NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "soon"], "WATCHDOG_USEC=soon is not a positive number"),
        (["NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "0"], "WATCHDOG_USEC=0 is not a positive number"),
    ])
    func aValueNoManagerWouldSetIsNamed(environment: [String: String], message: String) {
        #expect {
            try ServiceManagerNotifier(environment: environment)
        } throws: { error in
            (error as? ServiceManagerNotifier.Problem)?.description.hasPrefix(message) == true
        }
    }
}
