using IntegrityVolume.Core.Operations;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>
/// An online grow killed while wiping leaves the end of the mapping failing from some block k on (the wipe runs from
/// the old end forwards). The re-run finds k from the end back with few reads; every block is asked at most once per
/// probe, never all of them.
/// </summary>
public class FailingTailTests
{
    [Theory]
    [InlineData(1UL, 0UL)]
    [InlineData(100UL, 0UL)]
    [InlineData(100UL, 1UL)]
    [InlineData(100UL, 57UL)]
    [InlineData(100UL, 98UL)]
    [InlineData(100UL, 99UL)]
    [InlineData(1UL << 40, 1UL << 39)]
    [InlineData(1UL << 40, (1UL << 40) - 2)]
    [InlineData(1UL << 40, 12345UL)]
    public void TheFirstFailingBlockOfAFailingSuffixIsFoundInLogarithmicReads(ulong blocks, ulong k)
    {
        int reads = 0;
        ulong? found = ResizeOnline.FailingSuffixStart(blocks, b => { reads++; Assert.True(b < blocks); return b >= k; });
        Assert.Equal(k, found);
        Assert.True(reads <= 2 * 64 + 2, $"{reads} reads");
    }

    [Fact]
    public void AReadableLastBlockMeansNoFailingTail()
    {
        Assert.Null(ResizeOnline.FailingSuffixStart(100, b => b != 99));
        Assert.Null(ResizeOnline.FailingSuffixStart(0, _ => true));
    }

    [Fact]
    public void ABadBlockBelowTheBoundaryIsNotPartOfTheTail()
    {
        // Block 10 is damaged on its own; the tail fails from 60 on: the boundary is 60 (the probes skip 10).
        Assert.Equal(60UL, ResizeOnline.FailingSuffixStart(100, b => b == 10 || b >= 60));
    }
}
