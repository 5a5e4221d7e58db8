using IntegrityVolume.Tests.Fixtures;
using System.Diagnostics;
using IntegrityVolume.Core.Hashing;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// Algorithms without a kernel fixture or document vector (sha512, blake2b-256, blake2s-256, hmac(sha1), hmac(sha512))
/// checked against an independent implementation: Python's hashlib/hmac, computing the kernel's formula.
/// </summary>
public class HashWitnessTests
{
    [Theory]
    [InlineData("sha1", "hashlib.sha1(m).digest()")]
    [InlineData("sha512", "hashlib.sha512(m).digest()")]
    [InlineData("blake2b-256", "hashlib.blake2b(m, digest_size=32).digest()")]
    [InlineData("blake2s-256", "hashlib.blake2s(m, digest_size=32).digest()")]
    [InlineData("hmac(sha1)", "hmac.new(k, m, 'sha1').digest()")]
    [InlineData("hmac(sha256)", "hmac.new(k, m, 'sha256').digest()")]
    [InlineData("hmac(sha512)", "hmac.new(k, m, 'sha512').digest()")]
    public void TagsEqualPythonHashlib(string algorithm, string python)
    {
        var alg = TagAlgorithm.Parse(algorithm);
        var key = Enumerable.Range(0, 32).Select(i => (byte)(0xA0 + i)).ToArray();
        var salt = Enumerable.Range(0, 16).Select(i => (byte)(i * 3)).ToArray();
        var block = new byte[4096];
        new Random(42).NextBytes(block);
        using var k = TestKey.Of(alg.IsKeyed ? key : null);
        using var tc = new TagComputer(alg, k, alg.DigestSize, salt);
        var tag = new byte[alg.DigestSize];
        tc.Compute(123456, block, tag);
        string script = "import hashlib, hmac, struct, sys\n" +
            $"k = bytes.fromhex('{Convert.ToHexString(key)}')\n" +
            $"m = bytes.fromhex('{Convert.ToHexString(salt)}') + struct.pack('<Q', 123456) + bytes.fromhex('{Convert.ToHexString(block)}')\n" +
            $"sys.stdout.write(({python}).hex())\n";
        var psi = new ProcessStartInfo("python3") { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        string expected = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        Assert.Equal(expected, Convert.ToHexString(tag).ToLowerInvariant());
    }
}
