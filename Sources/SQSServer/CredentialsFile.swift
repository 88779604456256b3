import Foundation

/// The endpoint's access key, kept in `DATA/sqs-credentials` readable by its owner only (0600), written on
/// first use with a random key. The format is an AWS shared-credentials profile, so the file can be pointed
/// at with `AWS_SHARED_CREDENTIALS_FILE` and `AWS_PROFILE=hongbao`.
public enum CredentialsFile {
    public static let fileName = "sqs-credentials"
    public static let profile = "hongbao"

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unreadable(path: String, reason: String)
        case tooOpen(path: String, mode: Int)
        case malformed(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read or write \(path): \(reason)"
            case .tooOpen(let path, let mode):
                "\(path) is readable by others (mode \(String(mode, radix: 8))); run chmod 600 \(path)"
            case .malformed(let path):
                "\(path) does not hold aws_access_key_id and aws_secret_access_key; remove it to get a new key"
            }
        }
    }

    /// Reads the credentials in `directory`, creating them (0600) if the file does not exist yet.
    /// Returns the credentials and whether they were created just now.
    public static func loadOrCreate(in directory: String) throws(Failure) -> (SQSCredentials, created: Bool) {
        let path = directory + "/" + fileName
        if FileManager.default.fileExists(atPath: path) { return (try load(path), false) }
        var generator = SystemRandomNumberGenerator()
        let upper = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let any = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let keyID = "HBQ" + String((0..<17).map { _ in upper[Int(generator.next() % UInt64(upper.count))] })
        let secret = String((0..<40).map { _ in any[Int(generator.next() % UInt64(any.count))] })
        let credentials = SQSCredentials(accessKeyID: keyID, secretAccessKey: secret)
        try save(credentials, to: path)
        return (credentials, true)
    }

    /// Writes `credentials` to `path` with mode 0600 (created exclusively: an existing file is an error).
    public static func save(_ credentials: SQSCredentials, to path: String) throws(Failure) {
        let text = """
            [\(profile)]
            aws_access_key_id = \(credentials.accessKeyID)
            aws_secret_access_key = \(credentials.secretAccessKey)

            """
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
    }

    static func load(_ path: String) throws(Failure) -> SQSCredentials {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let mode = Int(info.st_mode) & 0o777
        guard mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: mode) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        guard let keyID = values["aws_access_key_id"], let secret = values["aws_secret_access_key"],
              !keyID.isEmpty, !secret.isEmpty
        else { throw .malformed(path: path) }
        return SQSCredentials(accessKeyID: keyID, secretAccessKey: secret)
    }
}
