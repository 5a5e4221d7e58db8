using System.Runtime.InteropServices;
using IntegrityVolume.Core;
using IntegrityVolume.Core.Kernel;
using Xunit;

namespace IntegrityVolume.Tests.Kernel;

/// <summary>ABI of the ioctl structures and the client's behaviour where there is no device-mapper (host side).</summary>
public class DeviceMapperInteropTests
{
    [Fact]
    public void StructSizesMatchTheKernelAbi()
    {
        Assert.Equal(312, Marshal.SizeOf<DmIoctlHeader>());
        Assert.Equal(40, Marshal.SizeOf<DmTargetSpec>());
        Assert.Equal(12, (int)Marshal.OffsetOf<DmIoctlHeader>(nameof(DmIoctlHeader.DataSize)));
        Assert.Equal(28, (int)Marshal.OffsetOf<DmIoctlHeader>(nameof(DmIoctlHeader.Flags)));
        Assert.Equal(40, (int)Marshal.OffsetOf<DmIoctlHeader>(nameof(DmIoctlHeader.Dev)));
        Assert.Equal(48, (int)Marshal.OffsetOf<DmIoctlHeader>(nameof(DmIoctlHeader.Name)));
        Assert.Equal(176, (int)Marshal.OffsetOf<DmIoctlHeader>(nameof(DmIoctlHeader.Uuid)));
        Assert.Equal(305, (int)Marshal.OffsetOf<DmIoctlHeader>(nameof(DmIoctlHeader.Data)));
        Assert.Equal(20, (int)Marshal.OffsetOf<DmTargetSpec>(nameof(DmTargetSpec.Next)));
        Assert.Equal(24, (int)Marshal.OffsetOf<DmTargetSpec>(nameof(DmTargetSpec.TargetType)));
    }

    [Fact]
    public void IoctlNumbersUseTheGenericEncoding()
    {
        if (RuntimeInformation.ProcessArchitecture is not (System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.Arm64)) return;
        Assert.Equal((nuint)0xC138FD00, Dm.Command(Dm.VERSION));
        Assert.Equal((nuint)0xC138FD03, Dm.Command(Dm.DEV_CREATE));
        Assert.Equal((nuint)0xC138FD09, Dm.Command(Dm.TABLE_LOAD));
        Assert.Equal((nuint)0xC138FD0C, Dm.Command(Dm.TABLE_STATUS));
        Assert.Equal((nuint)0xC138FD11, Dm.Command(Dm.GET_TARGET_VERSION));
    }

    [Theory]
    [InlineData(253u, 0u)]
    [InlineData(7u, 3u)]
    [InlineData(254u, 300u)]
    [InlineData(259u, 1048575u)]
    public void DeviceNumbersRoundTripThroughHugeEncodeDev(uint major, uint minor)
    {
        var d = new DeviceNumber(major, minor);
        Assert.Equal(d, DeviceNumber.Decode(d.Encoded));
        Assert.True(DeviceNumber.TryParse(d.ToString(), out var parsed));
        Assert.Equal(d, parsed);
    }

    [Fact]
    public void MissingControlNodeIsACleanError()
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => DeviceMapperClient.Open("/nonexistent/mapper/control"));
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex.ErrorId);
        Assert.Equal(ErrorKind.NotSupported, ex.Kind);
    }

    [Fact]
    public void ARegularFileIsNotAControlNode()
    {
        string f = Path.GetTempFileName();
        try
        {
            var ex = Assert.Throws<IntegrityVolumeException>(() => DeviceMapperClient.Open(f));
            Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex.ErrorId);
        }
        finally { File.Delete(f); }
    }

    [Fact]
    public void ACharDeviceThatRefusesTheHandshakeIsNotDeviceMapper()
    {
        // /dev/null opens but answers the DM_VERSION ioctl with ENOTTY.
        var ex = Assert.Throws<IntegrityVolumeException>(() => DeviceMapperClient.Open("/dev/null"));
        Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex.ErrorId);
    }

    [Fact]
    public void DefaultControlNodeEitherWorksOrFailsCleanly()
    {
        try
        {
            using var dm = DeviceMapperClient.Open();
            Assert.Equal(4u, dm.DriverVersion.Major);
        }
        catch (IntegrityVolumeException ex)
        {
            Assert.Contains(ex.ErrorId, new[] { ErrorIds.DeviceMapperUnavailable, ErrorIds.NotRoot });
            if (!DeviceMapperClient.IsAvailable()) Assert.Equal(ErrorIds.DeviceMapperUnavailable, ex.ErrorId);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")]
    public void BadMapperNamesAreRejectedBeforeAnyIoctl(string name)
    {
        var ex = Assert.Throws<IntegrityVolumeException>(() => IntegrityMappings.Status(name));
        Assert.Equal(ErrorIds.InvalidMapperName, ex.ErrorId);
    }

    [Fact]
    public void UnattachedLoopDevicesHaveNoBackingFile()
    {
        Assert.Null(LoopDevice.GetBackingFile("loop999999"));
        Assert.False(LoopDevice.IsLoop(new DeviceNumber(7, 999999)));
    }
}
