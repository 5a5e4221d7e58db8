using IntegrityVolume.Core;
using Xunit;

namespace IntegrityVolume.Tests.Core;

/// <summary>The one classifier both front ends use: ids, kinds and exit codes of every exception an operation can meet.</summary>
public class ErrorClassifierTests
{
    [Theory]
    [InlineData(typeof(OperationCanceledException), ErrorIds.OperationCancelled, ErrorKind.OperationStopped, ExitCodes.Cancelled)]
    [InlineData(typeof(TaskCanceledException), ErrorIds.OperationCancelled, ErrorKind.OperationStopped, ExitCodes.Cancelled)]
    [InlineData(typeof(UnauthorizedAccessException), ErrorIds.DeviceAccessDenied, ErrorKind.PermissionDenied, ExitCodes.PermissionDenied)]
    [InlineData(typeof(FileNotFoundException), ErrorIds.DeviceNotFound, ErrorKind.NotFound, ExitCodes.UsageError)]
    [InlineData(typeof(DirectoryNotFoundException), ErrorIds.DeviceNotFound, ErrorKind.NotFound, ExitCodes.UsageError)]
    [InlineData(typeof(IOException), ErrorIds.IoError, ErrorKind.DeviceError, ExitCodes.IoError)]
    [InlineData(typeof(OverflowException), ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, ExitCodes.UsageError)]
    public void Framework_exceptions_get_a_stable_id_kind_and_exit_code(Type type, string id, ErrorKind kind, int exit)
    {
        var ex = (Exception)Activator.CreateInstance(type)!;
        var c = ErrorClassifier.Classify(ex, "/dev/x")!;
        Assert.Equal((id, kind, exit), (c.ErrorId, c.Kind, c.ExitCode));
        var wrapped = Assert.IsType<IntegrityVolumeException>(c.Exception);
        Assert.Equal(id, wrapped.ErrorId);
        Assert.Same(ex, wrapped.InnerException);
        Assert.Equal("/dev/x", c.Target);
    }

    [Theory]
    [InlineData(ErrorKind.InvalidArgument, ExitCodes.UsageError)]
    [InlineData(ErrorKind.InvalidData, ExitCodes.UsageError)]
    [InlineData(ErrorKind.NotFound, ExitCodes.UsageError)]
    [InlineData(ErrorKind.ResourceExists, ExitCodes.UsageError)]
    [InlineData(ErrorKind.NotSupported, ExitCodes.UsageError)]
    [InlineData(ErrorKind.ResourceBusy, ExitCodes.Busy)]
    [InlineData(ErrorKind.PermissionDenied, ExitCodes.PermissionDenied)]
    [InlineData(ErrorKind.DeviceError, ExitCodes.IoError)]
    [InlineData(ErrorKind.OperationStopped, ExitCodes.Cancelled)]
    public void Engine_errors_keep_id_and_target_and_exit_by_kind(ErrorKind kind, int exit)
    {
        var ex = new IntegrityVolumeException("SomeId", kind, "m", "/dev/sdx");
        var c = ErrorClassifier.Classify(ex, "/fallback")!;
        Assert.Equal(("SomeId", kind, exit, "/dev/sdx"), (c.ErrorId, c.Kind, c.ExitCode, c.Target));
        Assert.Same(ex, c.Exception);
        Assert.Equal("/fallback", ErrorClassifier.Classify(new IntegrityVolumeException("SomeId", kind, "m"), "/fallback")!.Target);
    }

    [Fact]
    public void A_device_in_use_is_one_id_with_exit_5()
    {
        // DeviceBusy and DeviceInUse meant the same: one id is left, whichever layer finds the device busy.
        Assert.Null(typeof(ErrorIds).GetField("DeviceBusy"));
        var c = ErrorClassifier.Classify(new IntegrityVolumeException(ErrorIds.DeviceInUse, ErrorKind.ResourceBusy, "busy"))!;
        Assert.Equal(ExitCodes.Busy, c.ExitCode);
    }

    [Fact]
    public void Our_words_replace_the_frameworks_and_name_the_path_when_no_target_is_known()
    {
        var withTarget = ErrorClassifier.Classify(new UnauthorizedAccessException("Access to the path '/x' is denied."), "/x")!;
        Assert.Equal("/x: permission denied (the file system or its permissions refuse access).", withTarget.Message);
        var without = ErrorClassifier.Classify(new UnauthorizedAccessException("Access to the path '/y' is denied."))!;
        Assert.Contains("/y", without.Message);
        Assert.StartsWith("Permission denied", without.Message);
        Assert.Equal("/z", ErrorClassifier.Classify(new FileNotFoundException("gone", "/z"), "/x")!.Target);
    }

    [Fact]
    public void Bugs_and_flow_control_are_not_classified()
    {
        Assert.Null(ErrorClassifier.Classify(new InvalidOperationException()));
        Assert.Null(ErrorClassifier.Classify(new NullReferenceException()));
        Assert.Null(ErrorClassifier.Classify(new Exception("flow control")));
    }

    [Fact]
    public void Cancellations_are_recognised_in_every_shape()
    {
        Assert.True(ErrorClassifier.IsCancellation(new OperationCanceledException()));
        Assert.True(ErrorClassifier.IsCancellation(new IntegrityVolumeException(ErrorIds.OperationCancelled, ErrorKind.OperationStopped, "m")));
        Assert.True(ErrorClassifier.IsCancellation(new AggregateException(new OperationCanceledException(), new TaskCanceledException())));
        Assert.False(ErrorClassifier.IsCancellation(new AggregateException(new OperationCanceledException(), new IOException())));
        Assert.False(ErrorClassifier.IsCancellation(new IOException()));
    }

    [Theory]
    [InlineData(VerifyVerdict.Healthy, 0)]
    [InlineData(VerifyVerdict.Corrupt, 1)]
    [InlineData(VerifyVerdict.Incomplete, 6)]
    public void Verdicts_have_their_exit_codes(VerifyVerdict verdict, int exit) => Assert.Equal(exit, ExitCodes.Of(verdict));
}
