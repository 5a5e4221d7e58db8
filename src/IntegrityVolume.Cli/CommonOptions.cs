using System.CommandLine;
using System.Globalization;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;

namespace IntegrityVolume.Cli;

/// <summary>Options shared by several commands, named and meant as in integritysetup.</summary>
internal static class CommonOptions
{
    public static Argument<string> Device() => new("device") { Description = "Device or image file holding the superblock, journal and tags." };

    public static Option<string?> DataDevice() => new("--data-device") { Description = "Separate data device; the positional device then holds superblock, journal and tags." };
    public static Option<ulong> ReservedSectors() => new("--reserved-sectors") { Description = "Sectors reserved before the superblock (table offset; LUKS2 data offset)." };
    public static Option<bool> Json() => new("--json") { Description = "Print the result as JSON (property names as in the PowerShell objects, camelCase)." };
    public static Option<bool> ProgressJson() => new("--progress-json") { Description = "Print progress as JSON lines on stderr." };

    /// <summary>The device, --data-device and --reserved-sectors of a command, read back as a VolumeLocation.</summary>
    internal sealed class VolumeOptions
    {
        public readonly Argument<string> Device = CommonOptions.Device();
        public readonly Option<string?> DataDevice = CommonOptions.DataDevice();
        public readonly Option<ulong> Reserved = CommonOptions.ReservedSectors();
        public readonly Option<bool> Wait = new("--wait") { Description = "When another ivol process holds the device (exit 5, DeviceInUse), wait for it instead of failing." };
        public void AddTo(Command c) { c.Arguments.Add(Device); c.Options.Add(DataDevice); c.Options.Add(Reserved); c.Options.Add(Wait); }
        public VolumeLocation Read(ParseResult p) =>
            new() { Path = p.GetValue(Device)!, DataDevicePath = p.GetValue(DataDevice), ReservedSectors = p.GetValue(Reserved), WaitForLock = p.GetValue(Wait) };
    }

    /// <summary>
    /// An algorithm with its key, as integritysetup names the three triplets: --X, --X-key-file, --X-key-size for
    /// X = integrity (internal_hash), journal-integrity (journal_mac) and journal-crypt (journal_crypt). Declared
    /// here once; commands add the groups they take. Intake only: the rules are Core's (requests' Validate).
    /// </summary>
    internal sealed class AlgorithmOptions
    {
        public readonly Option<string?> Algorithm;
        public readonly Option<string?> KeyFile;
        public readonly Option<int?> KeySize;

        private AlgorithmOptions(string name, string? alias, string algorithm, string keyFile, string? defaultName)
        {
            Algorithm = alias is null ? new(name) : new(name, alias);
            Algorithm.Description = algorithm;
            if (defaultName is not null) Algorithm.DefaultValueFactory = _ => defaultName;
            KeyFile = new(name + "-key-file") { Description = keyFile };
            KeySize = new(name + "-key-size") { Description = $"Bytes to read from the {name}-key-file (default: the whole file, at most {Core.KeyFile.MaxBytes})." };
        }

        /// <summary>--integrity (default crc32c), --integrity-key-file, --integrity-key-size.</summary>
        public static AlgorithmOptions Integrity() => new("--integrity", "-I",
            $"Tag algorithm (internal_hash): {TagAlgorithm.NameList}.", "Key file for keyed algorithms (hmac-*).", TagAlgorithm.DefaultName);

        /// <summary>--integrity without a default: omitted, the algorithm is detected on the volume (verify, open).</summary>
        public static AlgorithmOptions IntegrityDetected() => new("--integrity", "-I",
            $"Tag algorithm (internal_hash): {string.Join(", ", TagAlgorithm.Names)}. Omitted: detected on the volume " +
            $"(at most {AlgorithmDetection.MaxSampleBlocks} blocks read; unkeyed algorithms, or the keyed ones with --integrity-key-file).",
            "Key file for keyed algorithms (hmac-*).", null);

        /// <summary>
        /// The algorithm given, or the one detected on <paramref name="volume"/> (said on stderr unless --json); KeyRequired or
        /// AlgorithmNotDetected when no single candidate matches. Detection is null when the algorithm was given.
        /// </summary>
        public (TagAlgorithm Algorithm, AlgorithmDetection? Detection) ParseOrDetect(ParseResult p, VolumeLocation volume, IntegrityKey? key, bool quiet)
        {
            if (Parse(p) is { } given) return (given, null);
            var detection = VolumeOperations.DetectAlgorithm(volume, key, Program.Cancellation);
            var algorithm = detection.Require(volume.Path);
            if (!quiet) Console.Error.WriteLine($"ivol: {volume.Path}: {detection.Summary}.");
            return (algorithm, detection);
        }

        /// <summary>--journal-integrity, --journal-integrity-key-file, --journal-integrity-key-size.</summary>
        public static AlgorithmOptions JournalIntegrity() => new("--journal-integrity", null,
            $"Journal MAC algorithm (journal_mac), as at format, e.g. hmac-sha256 (one of {string.Join(", ", TagAlgorithm.Names)}); verify checks the superblock MAC with it as the kernel does.",
            "Key file of the journal MAC.", null);

        /// <summary>--journal-crypt, --journal-crypt-key-file, --journal-crypt-key-size (open only: the kernel encrypts).</summary>
        public static AlgorithmOptions JournalCrypt() => new("--journal-crypt", null,
            "Journal encryption (kernel skcipher name, e.g. ctr(aes)).", "Key file of the journal encryption.", null);

        public void AddTo(Command c) { c.Options.Add(Algorithm); c.Options.Add(KeyFile); c.Options.Add(KeySize); }

        /// <summary>The name as given (null when the option is absent and has no default).</summary>
        public string? Name(ParseResult p) => p.GetValue(Algorithm);

        /// <summary>The algorithm as the engine computes it (UnknownAlgorithm otherwise); null when absent.</summary>
        public TagAlgorithm? Parse(ParseResult p) => Name(p) is { } name ? TagAlgorithm.Parse(name) : null;

        /// <summary>The key file's key (integritysetup's rules, KeyFile in Core), or null; the caller disposes it.</summary>
        public IntegrityKey? ReadKey(ParseResult p) => Core.KeyFile.ReadOptional(p.GetValue(KeyFile), p.GetValue(KeySize), KeyFile.Name);
    }

    /// <summary>Sizes like 64M, 1G, 4096, 512K (binary units, as integritysetup and truncate read them).</summary>
    public static long ParseSize(string text)
    {
        string original = text;
        text = text.Trim();
        long mult = 1;
        char last = char.ToUpperInvariant(text.Length > 0 ? text[^1] : ' ');
        if (text.Length > 2 && text.EndsWith("iB", StringComparison.OrdinalIgnoreCase)) { text = text[..^2]; last = char.ToUpperInvariant(text[^1]); }
        switch (last)
        {
            case 'K': mult = 1L << 10; text = text[..^1]; break;
            case 'M': mult = 1L << 20; text = text[..^1]; break;
            case 'G': mult = 1L << 30; text = text[..^1]; break;
            case 'T': mult = 1L << 40; text = text[..^1]; break;
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"'{original}' is not a size: a positive number of bytes with an optional suffix K, M, G or T (also KiB, MiB, GiB, TiB; binary, 1K = 1024), e.g. 64M, 1G, 1048576.");
        if (n > long.MaxValue / mult)
            throw new IntegrityVolumeException(ErrorIds.InvalidSize, ErrorKind.InvalidArgument,
                $"'{original}' is too large (at most {long.MaxValue} bytes, 8 EiB).");
        return n * mult;
    }
}
