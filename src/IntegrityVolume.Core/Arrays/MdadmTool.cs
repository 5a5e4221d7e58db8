namespace IntegrityVolume.Core.Arrays;

/// <summary>The real mdadm, run for every array operation (create, assemble, stop, detail, add, replace, remove).</summary>
internal static class MdadmTool
{
    /// <summary>How long one mdadm run may take before it is stopped (a hang limit; md's own work is watched in sysfs).</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>mdadm's full path; MdadmMissing when it is not installed.</summary>
    public static string Require(string target) =>
        ToolProcess.Find("mdadm") ?? throw new IntegrityVolumeException(ErrorIds.MdadmMissing, ErrorKind.NotSupported,
            $"{target}: mdadm is not installed (Debian/Ubuntu: apt-get install mdadm).", target);

    /// <summary>Run mdadm (LC_ALL=C, no stdin) and return its stdout; MdadmMissing / MdadmFailed with its words.</summary>
    public static string Run(IEnumerable<string> args, string target, CancellationToken ct) =>
        ToolProcess.RunChecked(Require(target), args, null, target, Timeout, ct, ErrorIds.MdadmMissing, ErrorIds.MdadmFailed).Output;
}
