import Records

/// Frames shaped like what Docker's fluentd driver sends on ECS: the ten keys
/// of the tutorial's setup with a `log` line of a given size. `task` picks the
/// ECS task in the record's labels, which the tutorial's `rewrite_tag` makes
/// the record's log stream.
enum DockerRecord {
    static func record(sequence: Int, logBytes: Int, task: Int = 0) -> MessagePackValue {
        let prefix = "line \(sequence) "
        let log = prefix + text(count: max(0, logBytes - prefix.utf8.count), seed: sequence)
        return .map([
            pair("container_id", "61f5e6b0c3d54c2f9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e"),
            pair("container_name", "/ecs-windows-app-task-1-sample-container-c2f1e0d9c8b7a6"),
            pair("source", "stdout"),
            pair("log", log),
            pair("com.amazonaws.ecs.cluster", "FluentBit-cluster"),
            pair("com.amazonaws.ecs.container-name", "sample-container"),
            pair("com.amazonaws.ecs.task-arn", "arn:aws:ecs:us-east-1:012345678901:task/FluentBit-cluster/\(taskID(task))"),
            pair("com.amazonaws.ecs.task-definition-family", "windows-app-task"),
            pair("com.amazonaws.ecs.task-definition-version", "1"),
            pair("partial_message", "false"),
        ])
    }

    /// One Message-mode frame, or one Forward-mode frame of `records` entries.
    static func frame(records: Int, firstSequence: Int, logBytes: Int, time: Int64, task: Int = 0, chunk: String? = nil) -> [UInt8] {
        let option: MessagePackValue = .map(chunk.map { [MessagePackPair(key: .string("chunk"), value: .string($0))] } ?? [])
        var encoder = MessagePackEncoder()
        if records == 1 {
            encoder.encode(.array([.string("windows-app-task"), .int(time), record(sequence: firstSequence, logBytes: logBytes, task: task), option]))
        } else {
            let entries = (0..<records).map { MessagePackValue.array([.int(time), record(sequence: firstSequence + $0, logBytes: logBytes, task: task)]) }
            encoder.encode(.array([.string("windows-app-task"), .array(entries), option]))
        }
        return encoder.bytes
    }

    /// Text that differs from line to line throughout, as real log lines do
    /// (a line of one repeated letter would let the spool store almost nothing of it).
    static func text(count: Int, seed: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJ=:/.-".utf8)
        var state = UInt64(truncatingIfNeeded: seed) &* 6364136223846793005 &+ 1442695040888963407
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes.append(alphabet[Int(state >> 33) % alphabet.count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The 32 hex digits of an ECS task id, different for each `task` below 65,536.
    static func taskID(_ task: Int) -> String {
        let digits = String(task & 0xffff, radix: 16)
        return "13f4d9e1a2b34c5d9e8f7a6b5c4d" + String(repeating: "0", count: 4 - digits.count) + digits
    }

    private static func pair(_ key: String, _ value: String) -> MessagePackPair {
        MessagePackPair(key: .string(key), value: .string(value))
    }
}
