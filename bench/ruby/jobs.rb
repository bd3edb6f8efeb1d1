# The bench's job for the Ruby peer: the same as examples/resque/jobs.ts's ResizeImage.
class ResizeImage
  @queue = :images

  def self.perform(id, ms = 200)
    sleep(ms / 1000.0)
    Resque.redis.rpush('demo:done', "#{id}:#{Process.pid}:#{Process.ppid}:#{(Time.now.to_f * 1000).to_i}")
  end
end
