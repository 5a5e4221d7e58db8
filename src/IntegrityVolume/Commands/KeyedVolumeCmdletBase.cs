using System.Management.Automation;
using System.Security.Cryptography;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Hashing;
using IntegrityVolume.Common;
using IntegrityVolume.Host;

namespace IntegrityVolume.Commands;

/// <summary>
/// Base of the cmdlets that compute or check tags (New, Test, Write, Open): -Algorithm and -KeyFile, declared once.
/// Both bind by property name, so a VolumeInfo from New-IntegrityVolume -PassThru carries its algorithm and key
/// file into the next cmdlet of the pipeline.
/// </summary>
/// <remarks>
/// Values typed on the command line do not depend on the input: BeginProcessing checks them once and stops the
/// command with a terminating error (as Get-FileHash does for -Algorithm), so -Quiet never answers $false per volume
/// for a typo. Values bound from a piped object are checked for that object only.
/// </remarks>
public abstract class KeyedVolumeCmdletBase : VolumeCmdletBase
{
    private (string? Algorithm, string? KeyFile, IntegrityKey? Key)? _checked;

    /// <summary>
    /// Tag algorithm (integritysetup --integrity): crc32c, crc32, xxhash64, sha1, sha256, sha512, blake2b-256, blake2s-256,
    /// hmac-sha1, hmac-sha256, hmac-sha512. Omitted: crc32c where tags are written (New, Write), detected on the volume
    /// where they are read (Test, Open: <see cref="DetectsAlgorithm"/>).
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    [ArgumentCompleter(typeof(AlgorithmCompleter))]
    public string? Algorithm { get; set; }

    /// <summary>Key of a keyed algorithm (hmac-*): the file's raw bytes, at most 4096.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = PathParameterSet)]
    [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathParameterSet)]
    public virtual string? KeyFile { get; set; }

    /// <summary>The algorithm of this record in integritysetup's spelling (empty means the default).</summary>
    protected string AlgorithmName => string.IsNullOrWhiteSpace(Algorithm) ? TagAlgorithm.DefaultName : Algorithm.Trim();

    /// <summary>
    /// True where an omitted -Algorithm is found on the volume (Test, Open: the tags exist already) instead of defaulting
    /// to crc32c (New, Write). A VolumeInfo or result piped in with its Algorithm counts as given.
    /// </summary>
    protected virtual bool DetectsAlgorithm => false;

    /// <summary>This record detects its algorithm: none given (blank or null counts as none) and the cmdlet detects.</summary>
    protected bool DetectingAlgorithm => DetectsAlgorithm && string.IsNullOrWhiteSpace(Algorithm);

    /// <summary>
    /// The algorithm found on the volume at <paramref name="location"/> (unkeyed ones; with -KeyFile the keyed ones), said
    /// in a verbose line; KeyRequired ("keyed: a key is needed") or AlgorithmNotDetected when no single one matches.
    /// </summary>
    internal (AlgorithmDetection Detection, IntegrityAlgorithmSpec Spec) DetectIntegrity(VolumeLocation location)
    {
        var (_, key) = AlgorithmAndKey();
        try
        {
            var detection = VolumeOperations.DetectAlgorithm(location, key, CancellationToken);
            WriteVerbose($"{location.Path}: {detection.Summary}.");
            var algorithm = detection.Require(location.Path);
            WriteVerbose($"{location.Path}: using the detected algorithm {algorithm.IntegritysetupName} (give -Algorithm to choose one).");
            return (detection, new IntegrityAlgorithmSpec { Algorithm = algorithm, Key = key });
        }
        catch
        {
            key?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// True in parameter sets of active volumes (-Name) whose algorithm is the live table's: -KeyFile is not checked
    /// against a default algorithm here (Core checks it against the table).
    /// </summary>
    protected virtual bool AlgorithmFromLiveTable => false;

    /// <summary>The -KeyFile of this record as a file-system path, or null.</summary>
    protected string? KeyFilePath => Paths.ResolveOptionalLiteral(KeyFile, nameof(KeyFile));

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (AlgorithmFromLiveTable || (!IsBound(nameof(Algorithm)) && !IsBound(nameof(KeyFile))))
            return;
        // Command-line values: one check, one terminating error. A key may still come from a piped object, so
        // "keyed algorithm without key" is input-independent only when nothing is piped.
        try
        {
            _checked = Check(DetectingAlgorithm ? null : AlgorithmName, KeyFilePath, requireKey: !MyInvocation.ExpectingInput);
        }
        catch (Exception ex) when (ErrorMapping.TryMap(ex, Algorithm) is { } mapped)
        {
            ThrowTerminatingError(CreateErrorRecord(mapped, Algorithm));
        }
    }

    /// <summary>
    /// The parsed algorithm and a fresh copy of the key for this record (disposed with the request that carries it).
    /// Check already parsed the name, so Parse cannot fail here.
    /// </summary>
    internal IntegrityAlgorithmSpec Integrity()
    {
        var (algorithm, key) = AlgorithmAndKey();
        return new IntegrityAlgorithmSpec { Algorithm = TagAlgorithm.Parse(algorithm ?? TagAlgorithm.DefaultName), Key = key };
    }

    /// <summary>
    /// False where the kernel computes the tags (Open-IntegrityVolume): any name its crypto API knows is allowed, and
    /// the kernel's own reason comes back for one it does not; only the name's syntax and the key rule are checked here.
    /// </summary>
    protected virtual bool ComputesTags => true;

    private (string? Algorithm, string? KeyFile, IntegrityKey? Key) Check(string? algorithm, string? keyFile, bool requireKey)
    {
        // Detected: the key only (with a key the keyed algorithms are the candidates).
        if (algorithm is null) return (null, keyFile, keyFile is null ? null : Core.KeyFile.Read(keyFile, "-KeyFile"));
        string name = ComputesTags ? TagAlgorithm.Parse(algorithm).IntegritysetupName : TagAlgorithm.IntegritysetupSpelling(TagAlgorithm.ToKernelName(algorithm));
        bool keyed = TagAlgorithm.IsKeyedName(name);
        var key = keyFile is null ? null : Core.KeyFile.Read(keyFile, "-KeyFile");
        if (keyed && key is null && requireKey)
            throw new IntegrityVolumeException(ErrorIds.KeyRequired, ErrorKind.InvalidArgument,
                $"{name} is keyed: give the key file (-KeyFile).", algorithm);
        if (!keyed && key is not null)
        {
            key.Dispose();
            throw new IntegrityVolumeException(ErrorIds.KeyNotAllowed, ErrorKind.InvalidArgument,
                $"{name} takes no key; -KeyFile is only for hmac-* algorithms.", keyFile);
        }
        return (algorithm, keyFile, key);
    }

    /// <summary>
    /// The algorithm name as given and a fresh copy of the key for this record, reusing what BeginProcessing checked
    /// (Open-IntegrityVolume passes the name to the kernel unparsed).
    /// </summary>
    internal (string? Algorithm, IntegrityKey? Key) AlgorithmAndKey()
    {
        string? name = DetectingAlgorithm ? null : AlgorithmName;
        if (_checked is { } c && string.Equals(c.Algorithm, name, StringComparison.OrdinalIgnoreCase) && c.KeyFile == KeyFilePath)
            return (c.Algorithm, c.Key is null ? null : new IntegrityKey(c.Key.Span));
        var fresh = Check(name, KeyFilePath, requireKey: false);
        return (fresh.Algorithm, fresh.Key);
    }

    protected override void EndProcessing()
    {
        ScrubCheckedKey();
        base.EndProcessing();
    }

    private void ScrubCheckedKey()
    {
        _checked?.Key?.Dispose();
        _checked = null;
    }

    protected override void Dispose(bool disposing)
    {
        ScrubCheckedKey();
        base.Dispose(disposing);
    }
}
