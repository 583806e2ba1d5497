// swift-tools-version:6.1
import PackageDescription

/// Flags shared by every Swift target: Swift 6 language mode is the package default,
/// and warnings are not tolerated anywhere.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// `ROLLBACK_FUZZ=1` (set by `scripts/fuzz`, in its own build directory) instruments the code the
/// fuzzers drive with libFuzzer's coverage and AddressSanitizer, and adds the `rollback-fuzz`
/// executable. Ordinary builds never see either.
let fuzzing = Context.environment["ROLLBACK_FUZZ"] == "1"
let fuzzedSettings: [SwiftSetting] = fuzzing ? [.unsafeFlags(["-sanitize=fuzzer,address"])] : []

let package = Package(
    name: "Rollback",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "RollbackProtocol", targets: ["RollbackProtocol"]),
        .library(name: "RollbackTransport", targets: ["RollbackTransport"]),
        .library(name: "RollbackAgent", targets: ["RollbackAgent"]),
        .library(name: "RollbackBroker", targets: ["RollbackBroker"]),
        .library(name: "RollbackClient", targets: ["RollbackClient"]),
        .executable(name: "rollback-agent", targets: ["RollbackAgentMain"]),
        .executable(name: "rollback-broker", targets: ["RollbackBrokerMain"]),
        .executable(name: "rollbackctl", targets: ["RollbackCtlMain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        // Already built for Hummingbird; named here so the broker can open its own spans.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // TLS for the API listener and for the client (https://). Already built for
        // postgres-nio, so naming it costs no build time.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        // `swift package generate-documentation --target RollbackClient` (DocC); a plugin only,
        // nothing of it is linked into the programs.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        // OTLP export of the daemons' spans (tracing bootstrap in RollbackTelemetry; off unless
        // configured).
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        // Traits off: the broker needs neither swift-configuration nor the full-Foundation extras,
        // and every package less is build time saved on each clean CI run.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
    ],
    targets: [
        // MARK: C libraries from Debian, each wrapped once by a Swift type.
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CZip",
            path: "Sources/CZip",
            pkgConfig: "libzip",
            providers: [.apt(["libzip-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CSystemShims",
            path: "Sources/CSystemShims",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CGit2",
            path: "Sources/CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),

        // MARK: Libraries.
        .target(
            name: "RollbackProtocol",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto")
            ],
            path: "Sources/Protocol",
            swiftSettings: strictSettings + fuzzedSettings
        ),
        // What every Rollback process needs at start-up: configuration from file, environment
        // and flags; keyring files; logging; exit codes; --version.
        .target(
            name: "RollbackRuntime",
            dependencies: [
                "RollbackProtocol",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Runtime",
            swiftSettings: strictSettings,
            plugins: ["GitCommit"]
        ),
        // Metrics (and, later, tracing) bootstraps for the daemons; kept apart from
        // RollbackRuntime so that the client library links neither Prometheus nor an HTTP server.
        .target(
            name: "RollbackTelemetry",
            dependencies: [
                "RollbackRuntime",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            path: "Sources/Telemetry",
            swiftSettings: strictSettings
        ),
        .plugin(
            name: "GitCommit",
            capability: .buildTool(),
            path: "Plugins/GitCommit"
        ),
        .target(
            name: "RollbackTransport",
            dependencies: [
                "RollbackProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Transport",
            swiftSettings: strictSettings
        ),
        // ZIP archives read with libzip and checked against every safety rule before a byte is
        // extracted. Its own module so the fuzzers build it without the agent's NIO stack.
        .target(
            name: "RollbackArchive",
            dependencies: ["RollbackProtocol", "CZip"],
            path: "Sources/Archive",
            swiftSettings: strictSettings + fuzzedSettings
        ),
        // What the fuzzers check, input by input: run by `rollback-fuzz` under libFuzzer and, over
        // the seeds and every saved crash, by the ordinary tests.
        .target(
            name: "RollbackFuzzChecks",
            dependencies: ["RollbackProtocol", "RollbackArchive"],
            path: "Sources/FuzzChecks",
            swiftSettings: strictSettings + fuzzedSettings
        ),
        .target(
            name: "RollbackAgent",
            dependencies: [
                "RollbackProtocol",
                "RollbackRuntime",
                "RollbackTransport",
                "RollbackArchive",
                "CGit2",
                "CSystemShims",
                "CCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Sources/Agent",
            swiftSettings: strictSettings
        ),
        .target(
            name: "RollbackBroker",
            dependencies: [
                "RollbackProtocol",
                "RollbackRuntime",
                "RollbackTransport",
                "RollbackClient",
                "CHiredis",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Broker",
            // The console's pages (HTML, CSS, one ES module): no Node toolchain, no CDN.
            resources: [.copy("Console/Assets")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RollbackClient",
            dependencies: [
                "RollbackProtocol",
                "RollbackRuntime",
                "RollbackTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Client",
            swiftSettings: strictSettings
        ),

        // MARK: Thin executables.
        .executableTarget(
            name: "RollbackAgentMain",
            dependencies: [
                "RollbackRuntime",
                "RollbackTelemetry",
                "RollbackAgent",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/RollbackAgentMain",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "RollbackBrokerMain",
            dependencies: [
                "RollbackRuntime",
                "RollbackTelemetry",
                "RollbackBroker",
                "RollbackProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/RollbackBrokerMain",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "RollbackCtlMain",
            dependencies: [
                "RollbackRuntime",
                "RollbackClient",
                "RollbackProtocol",
                "RollbackTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `versions add --file`: the artifact's SHA-256.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/RollbackCtlMain",
            swiftSettings: strictSettings
        ),

        // MARK: Benchmarks (run in release: `swift run -c release protocol-benchmark`).
        .executableTarget(
            name: "protocol-benchmark",
            dependencies: [
                "RollbackProtocol",
                "RollbackTransport",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/ProtocolBenchmark",
            swiftSettings: strictSettings
        ),

        .executableTarget(
            name: "broker-benchmark",
            dependencies: [
                "RollbackClient",
                "RollbackProtocol",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Benchmarks/BrokerBenchmark",
            swiftSettings: strictSettings
        ),

        // MARK: Tests.
        .testTarget(
            name: "FuzzCheckTests",
            dependencies: ["RollbackFuzzChecks"],
            path: "Tests/FuzzCheckTests",
            swiftSettings: strictSettings
        ),
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RuntimeTests",
            dependencies: ["RollbackRuntime"],
            path: "Tests/RuntimeTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProtocolTests",
            dependencies: ["RollbackProtocol"],
            path: "Tests/ProtocolTests",
            resources: [],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "BrokerRoutingTests",
            dependencies: [
                "RollbackBroker",
                "RollbackProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/BrokerRoutingTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TransportTests",
            dependencies: [
                "RollbackProtocol",
                "RollbackTransport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            path: "Tests/TransportTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "RollbackAgent",
                "RollbackArchive",
                "RollbackRuntime",
                "TestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                "RollbackProtocol",
                "RollbackTransport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/AgentTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "RollbackBroker",
                "RollbackRuntime",
                "RollbackClient",
                "RollbackProtocol",
                "RollbackTransport",
                "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "RollbackAgent",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/IntegrationTests",
            swiftSettings: strictSettings
        ),
    ]
)

if fuzzing {
    package.targets += [
        .systemLibrary(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"),
        .executableTarget(
            name: "rollback-fuzz",
            dependencies: ["RollbackFuzzChecks", "CFuzzDriver"],
            path: "Fuzz/RollbackFuzz",
            // Its `main` hands over to libFuzzer (`LLVMFuzzerRunDriver`).
            swiftSettings: strictSettings + [.unsafeFlags(["-sanitize=fuzzer,address"])],
            linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])]
        ),
    ]
}
