import ProxyWasmABI

/// Envoy's WASI preview1 subset (proxy-wasm-cpp-host `exports.cc`), quirks
/// included: stdout/stderr go to the log, files do not exist, `proc_exit`
/// returns, `random_get` is capped at 64 KiB. Errno values are WASI's.
enum WASI {
    static let success: UInt32 = 0, badf: UInt32 = 8, notdir: UInt32 = 20, fault: UInt32 = 21
    static let inval: UInt32 = 28, noent: UInt32 = 44, nosys: UInt32 = 52, notsup: UInt32 = 58

    static let handlers: [String: HostCallHandler] = {
        var table: [String: HostCallHandler] = [:]
        func constant(_ name: String, _ value: UInt32) { table[name] = { vm, _ in vm.wasiResult(name, value) } }
        func stdio(_ name: String, _ fdIndex: Int = 0) {
            table[name] = { vm, a in vm.wasiResult(name, a.i32(fdIndex) == 1 || a.i32(fdIndex) == 2 ? success : badf) }
        }
        table["fd_write"] = { vm, a in vm.wasiWrite("fd_write", a.i32(0), a.i32(1), a.i32(2), a.i32(3)) }
        table["fd_pwrite"] = { vm, a in vm.wasiWrite("fd_pwrite", a.i32(0), a.i32(1), a.i32(2), a.i32(4)) }
        constant("fd_read", nosys)
        constant("fd_pread", nosys)
        table["fd_seek"] = { vm, _ in
            vm.wasiLog("wasi_unstable fd_seek")
            return vm.wasiResult("fd_seek", success)
        }
        table["fd_close"] = { vm, _ in
            vm.wasiLog("wasi_unstable fd_close")
            return vm.wasiResult("fd_close", success)
        }
        table["fd_fdstat_get"] = { vm, a in
            let fd = a.i32(0)
            guard fd == 1 || fd == 2 else { return vm.wasiResult("fd_fdstat_get", badf) }
            // {filetype 0, flags 0, rights_base FD_WRITE (64), inheriting 0}; write failures ignored.
            _ = vm.memory?.write(a.i32(1), [0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            return vm.wasiResult("fd_fdstat_get", success)
        }
        constant("fd_fdstat_set_flags", nosys)
        stdio("fd_fdstat_set_rights")
        constant("fd_advise", success)
        stdio("fd_allocate")
        stdio("fd_datasync")
        stdio("fd_sync")
        constant("fd_filestat_get", badf)
        stdio("fd_filestat_set_size")
        stdio("fd_filestat_set_times")
        constant("fd_prestat_get", badf)
        constant("fd_prestat_dir_name", nosys)
        table["fd_readdir"] = { vm, a in
            _ = vm.memory?.writeUInt32(a.i32(4), 0)
            return vm.wasiResult("fd_readdir", notdir)
        }
        table["fd_renumber"] = { vm, a in
            let both = [a.i32(0), a.i32(1)].allSatisfy { $0 == 1 || $0 == 2 }
            return vm.wasiResult("fd_renumber", both ? notsup : badf)
        }
        table["fd_tell"] = { vm, a in
            guard a.i32(0) == 1 || a.i32(0) == 2 else { return vm.wasiResult("fd_tell", badf) }
            _ = vm.memory?.writeUInt64(a.i32(1), 0)
            return vm.wasiResult("fd_tell", success)
        }
        constant("path_open", noent)
        for name in [
            "path_filestat_get", "path_create_directory", "path_remove_directory", "path_unlink_file",
            "path_filestat_set_times", "path_link", "path_rename", "path_symlink", "sock_shutdown",
        ] {
            constant(name, notsup)
        }
        table["path_readlink"] = { vm, a in
            _ = vm.memory?.writeUInt32(a.i32(5), 0)
            return vm.wasiResult("path_readlink", notsup)
        }
        table["sock_accept"] = { vm, a in
            _ = vm.memory?.writeUInt64(a.i32(2), 0)
            return vm.wasiResult("sock_accept", notsup)
        }
        table["sock_recv"] = { vm, a in
            _ = vm.memory?.writeUInt32(a.i32(4), 0)
            _ = vm.memory?.write(a.i32(5), [0, 0])
            return vm.wasiResult("sock_recv", notsup)
        }
        table["sock_send"] = { vm, a in
            _ = vm.memory?.writeUInt32(a.i32(4), 0)
            return vm.wasiResult("sock_send", notsup)
        }
        table["environ_sizes_get"] = { vm, a in
            guard vm.memory?.writeUInt32(a.i32(0), 0) == true, vm.memory?.writeUInt32(a.i32(1), 0) == true else {
                return vm.wasiResult("environ_sizes_get", fault)
            }
            return vm.wasiResult("environ_sizes_get", success)
        }
        constant("environ_get", success)
        table["args_sizes_get"] = { vm, a in
            guard vm.memory?.writeUInt32(a.i32(0), 0) == true, vm.memory?.writeUInt32(a.i32(1), 0) == true else {
                return vm.wasiResult("args_sizes_get", fault)
            }
            return vm.wasiResult("args_sizes_get", success)
        }
        constant("args_get", success)
        table["clock_time_get"] = { vm, a in
            let value: UInt64
            switch a.i32(0) {
            case 0: value = vm.proxy.clock.nanoseconds
            case 1: value = vm.proxy.clock.monotonicNanoseconds
            default: return vm.wasiResult("clock_time_get", notsup)
            }
            guard vm.memory?.writeUInt64(a.i32(2), value) == true else { return vm.wasiResult("clock_time_get", fault) }
            return vm.wasiResult("clock_time_get", success)
        }
        table["clock_res_get"] = { vm, a in
            guard a.i32(0) <= 1 else { return vm.wasiResult("clock_res_get", notsup) }
            guard vm.memory?.writeUInt64(a.i32(1), 1) == true else { return vm.wasiResult("clock_res_get", fault) }
            return vm.wasiResult("clock_res_get", success)
        }
        table["random_get"] = { vm, a in
            let length = a.i32(1)
            if length > 65536 { return vm.wasiResult("random_get", inval) }
            if length == 0 { return vm.wasiResult("random_get", success) }
            // Deterministic bytes: runs are reproducible (the guest only seeds hashing with them).
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: vm.random.next(salt: UInt64($0))) }
            guard vm.memory?.write(a.i32(0), bytes) == true else { return vm.wasiResult("random_get", fault) }
            return vm.wasiResult("random_get", success)
        }
        constant("sched_yield", success)
        table["poll_oneoff"] = { vm, a in
            _ = vm.memory?.writeUInt32(a.i32(3), 0)
            return vm.wasiResult("poll_oneoff", success)
        }
        table["proc_exit"] = { vm, a in
            vm.wasiLog("wasi_unstable proc_exit")
            _ = vm.wasiResult("proc_exit", UInt32(truncatingIfNeeded: a.i32(0)))
            return nil
        }
        return table
    }()
}

extension PluginVM {
    func wasiResult(_ name: String, _ errno: UInt32) -> UInt32 {
        if trace.isEnabled {
            trace.record(.hostcall, context: activeContext?.id ?? frame.currentContextID, name: name, status: "errno \(errno)")
        }
        return errno
    }

    func wasiLog(_ message: String) {
        proxy.appendLog(LogLine(level: .trace, vmID: vmID, rootID: "", message: message))
    }

    /// fd 1 -> info, fd 2 -> error; all iovecs joined into one line, one trailing newline dropped.
    func wasiWrite(_ name: String, _ fd: UInt32, _ iovecs: UInt32, _ count: UInt32, _ writtenSlot: UInt32) -> UInt32 {
        guard fd == 1 || fd == 2 else { return wasiResult(name, WASI.badf) }
        guard let memory else { return wasiResult(name, WASI.fault) }
        var text: [UInt8] = []
        for index in 0..<count {
            guard let base = memory.readUInt32(iovecs &+ index &* 8), let length = memory.readUInt32(iovecs &+ index &* 8 &+ 4),
                let bytes = memory.read(base, length)
            else {
                return wasiResult(name, WASI.fault)
            }
            text += bytes
        }
        let written = UInt32(text.count)
        if text.last == 0x0A { text.removeLast() }
        if !text.isEmpty {
            proxy.appendLog(
                LogLine(
                    level: fd == 1 ? .info : .error, vmID: vmID, rootID: "",
                    message: String(decoding: text, as: UTF8.self)))
        }
        guard memory.writeUInt32(writtenSlot, written) else { return wasiResult(name, WASI.fault) }
        return wasiResult(name, WASI.success)
    }
}
