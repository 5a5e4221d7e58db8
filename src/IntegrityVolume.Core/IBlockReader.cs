namespace IntegrityVolume.Core;

/// <summary>Positional reads of a device or image; a short read past the end is an error (DeviceTruncated).</summary>
public interface IBlockReader
{
    string Path { get; }
    long Length { get; }
    void Read(long offset, Span<byte> buffer);

    /// <summary>Readahead hint: the caller reads front to back (posix_fadvise SEQUENTIAL, a wider window); advisory.</summary>
    void AdviseSequential() { }

    /// <summary>Readahead hint: start reading [offset, offset+length) into the page cache now (posix_fadvise WILLNEED); advisory.</summary>
    void WillNeed(long offset, long length) { }
}
