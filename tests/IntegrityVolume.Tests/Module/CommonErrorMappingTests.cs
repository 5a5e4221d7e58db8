using IntegrityVolume.Core;
using IntegrityVolume.Common;
using Xunit;

namespace IntegrityVolume.Tests.Module;

public class CommonErrorMappingTests
{
    [Fact]
    public void Every_ErrorKind_has_a_category()
    {
        foreach (var kind in Enum.GetValues<ErrorKind>())
            Assert.True(ErrorMapping.KindToCategory.ContainsKey(kind), $"ErrorKind.{kind} has no ErrorCategory");
    }

    [Theory]
    [InlineData(ErrorKind.InvalidArgument, (int)ErrorCategoryName.InvalidArgument)]
    [InlineData(ErrorKind.InvalidData, (int)ErrorCategoryName.InvalidData)]
    [InlineData(ErrorKind.NotFound, (int)ErrorCategoryName.ObjectNotFound)]
    [InlineData(ErrorKind.ResourceExists, (int)ErrorCategoryName.ResourceExists)]
    [InlineData(ErrorKind.ResourceBusy, (int)ErrorCategoryName.ResourceBusy)]
    [InlineData(ErrorKind.PermissionDenied, (int)ErrorCategoryName.PermissionDenied)]
    [InlineData(ErrorKind.NotSupported, (int)ErrorCategoryName.NotImplemented)]
    [InlineData(ErrorKind.DeviceError, (int)ErrorCategoryName.DeviceError)]
    [InlineData(ErrorKind.OperationStopped, (int)ErrorCategoryName.OperationStopped)]
    public void Engine_errors_keep_their_id_and_target_and_get_the_kind_category(ErrorKind kind, int category)
    {
        var ex = new IntegrityVolumeException("SomeId", kind, "message", "/dev/sdx");
        var mapped = ErrorMapping.TryMap(ex, "/fallback");
        Assert.NotNull(mapped);
        Assert.Equal("SomeId", mapped!.ErrorId);
        Assert.Equal((ErrorCategoryName)category, mapped.Category);
        Assert.Equal("/dev/sdx", mapped.Target);
        Assert.Same(ex, mapped.Exception);
    }

    [Fact]
    public void Read_and_write_failures_get_the_more_precise_category()
    {
        Assert.Equal(ErrorCategoryName.ReadError, ErrorMapping.TryMap(new IntegrityVolumeException(ErrorIds.DeviceReadFailed, ErrorKind.DeviceError, "m"), null)!.Category);
        Assert.Equal(ErrorCategoryName.WriteError, ErrorMapping.TryMap(new IntegrityVolumeException(ErrorIds.DeviceWriteFailed, ErrorKind.DeviceError, "m"), null)!.Category);
    }

    [Fact]
    public void The_item_being_processed_is_the_target_when_the_engine_names_none()
    {
        var mapped = ErrorMapping.TryMap(new IntegrityVolumeException(ErrorIds.InvalidParameter, ErrorKind.InvalidArgument, "m"), "/img/a.img");
        Assert.Equal("/img/a.img", mapped!.Target);
    }

    [Fact]
    public void Framework_io_exceptions_get_stable_ids()
    {
        Assert.Equal((ErrorIds.DeviceAccessDenied, ErrorCategoryName.PermissionDenied),
            Pair(ErrorMapping.TryMap(new UnauthorizedAccessException(), "/x")));
        var fnf = ErrorMapping.TryMap(new FileNotFoundException("gone", "/y"), "/x");
        Assert.Equal((ErrorIds.DeviceNotFound, ErrorCategoryName.ObjectNotFound), Pair(fnf));
        Assert.Equal("/y", fnf!.Target);
        Assert.Equal((ErrorIds.DeviceNotFound, ErrorCategoryName.ObjectNotFound), Pair(ErrorMapping.TryMap(new DirectoryNotFoundException(), "/x")));
        var io = ErrorMapping.TryMap(new IOException("disk on fire"), "/x")!;
        Assert.Equal((ErrorIds.IoError, ErrorCategoryName.DeviceError), Pair(io));   // the id ivol reports too (was FileSystemError)
        Assert.Equal("disk on fire", io.Exception.Message);
        // Our words, not .NET's (issue 13, defect 5); the original stays the inner exception.
        var denied = ErrorMapping.TryMap(new UnauthorizedAccessException("Access to the path '/x' is denied."), "/x")!;
        Assert.Equal("/x: permission denied (the file system or its permissions refuse access).", denied.Exception.Message);
        Assert.IsType<UnauthorizedAccessException>(denied.Exception.InnerException);
    }

    [Fact]
    public void Unknown_exceptions_are_not_mapped_so_they_propagate()
    {
        // Bugs and PowerShell's flow-control exceptions (PipelineStoppedException, ActionPreferenceStopException) must not become error records.
        Assert.Null(ErrorMapping.TryMap(new InvalidOperationException(), "/x"));
        Assert.Null(ErrorMapping.TryMap(new NullReferenceException(), "/x"));
        Assert.Null(ErrorMapping.TryMap(new Exception("flow control"), "/x"));
    }

    [Fact]
    public void Cancellation_is_quiet_only_when_the_user_cancelled()
    {
        Assert.True(ErrorMapping.IsQuietCancellation(new OperationCanceledException(), cancellationRequested: true));
        Assert.True(ErrorMapping.IsQuietCancellation(new TaskCanceledException(), cancellationRequested: true));
        Assert.True(ErrorMapping.IsQuietCancellation(new IntegrityVolumeException(ErrorIds.OperationCancelled, ErrorKind.OperationStopped, "m"), true));
        Assert.True(ErrorMapping.IsQuietCancellation(new AggregateException(new OperationCanceledException(), new OperationCanceledException()), true));
        Assert.False(ErrorMapping.IsQuietCancellation(new AggregateException(new OperationCanceledException(), new IOException()), true));
        Assert.False(ErrorMapping.IsQuietCancellation(new OperationCanceledException(), cancellationRequested: false));
        Assert.False(ErrorMapping.IsQuietCancellation(new IOException(), true));
        // An engine-side cancellation the user did not ask for is an error with a stable id.
        Assert.Equal((ErrorIds.OperationCancelled, ErrorCategoryName.OperationStopped), Pair(ErrorMapping.TryMap(new OperationCanceledException(), "/x")));
    }

    [Fact]
    public void Module_error_ids_do_not_collide_with_core_ids()
    {
        var core = typeof(ErrorIds).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToHashSet();
        foreach (var f in typeof(ModuleErrorIds).GetFields())
            Assert.DoesNotContain((string)f.GetRawConstantValue()!, core);
    }

    private static (string, ErrorCategoryName) Pair(MappedError? m) => (m!.ErrorId, m.Category);
}
